package org.q2q.client.internal.connect;

import io.netty.channel.EventLoop;
import io.netty.handler.ssl.SslContext;
import java.util.function.Supplier;
import org.q2q.client.Route;
import org.q2q.client.ServerAddress;
import org.q2q.client.internal.relay.RelayChannel;
import org.q2q.proto.RelayRole;
import org.q2q.proto.ConnectionMethod;
import org.q2q.proto.Listener;
import org.q2q.proto.PresenceGrpc;

/**
 * The relay, connecting side, through the server that answered Inbound: its relay socket when the
 * method announces one ({@link RelaySocketPlan}), else a Relay stream ({@link RelayPlan}).
 */
final class RelayConnectMethod<S> implements ConnectMethod<S> {
  /** Set to true to relay by the Relay RPC even where a relay socket is offered (benchmarks). */
  static final boolean RPC_ONLY = Boolean.getBoolean("q2q.relay.rpc");

  private final PresenceGrpc.PresenceStub stub;
  private final EventLoop loop;
  private final ServerAddress server;
  private final Supplier<SslContext> socketTls;
  private final Secure<S> secure;

  /**
   * @param server the server that answered Inbound
   * @param socketTls the TLS context for that server's relay socket
   */
  RelayConnectMethod(PresenceGrpc.PresenceStub stub, EventLoop loop, ServerAddress server,
      Supplier<SslContext> socketTls, Secure<S> secure) {
    this.stub = stub;
    this.loop = loop;
    this.server = server;
    this.socketTls = socketTls;
    this.secure = secure;
  }

  @Override
  public ConnectionMethod.KindCase advertised() {
    return ConnectionMethod.KindCase.RELAY;
  }

  @Override
  public Route.Kind kind() {
    return Route.Kind.RELAY;
  }

  @Override
  public int tier() {
    return 2;
  }

  @Override
  public ConnectPlan<S> plan(Listener listener, ConnectionMethod method) {
    int port = method.getRelay().getSocketPort();
    if (port > 0 && port <= 65535 && !RPC_ONLY) {
      return new RelaySocketPlan<>(loop, server, port, socketTls, listener.getId(),
          () -> RelayChannel.open(stub, loop, listener.getId(), RelayRole.RELAY_ROLE_CONNECTOR, server.toString()),
          (ch, route) -> secure.start(ch, route, listener.getId()));
    }
    return new RelayPlan<>(stub, loop, listener.getId(), server.toString(),
        (ch, route) -> secure.start(ch, route, listener.getId()));
  }
}
