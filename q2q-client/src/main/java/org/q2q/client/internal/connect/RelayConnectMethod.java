package org.q2q.client.internal.connect;

import io.netty.channel.EventLoop;
import io.netty.handler.ssl.SslContext;
import java.util.Optional;
import java.util.function.Function;
import java.util.function.Supplier;
import org.q2q.client.Route;
import org.q2q.client.ServerAddress;
import org.q2q.client.internal.relay.RelayChannel;
import org.q2q.proto.RelayRole;
import org.q2q.proto.ConnectionMethod;
import org.q2q.proto.Listener;
import org.q2q.proto.PresenceGrpc;

/**
 * The relay, connecting side, through the server that answered Inbound (or the node of its domain
 * the method names: the one holding the listener's session): its relay socket when the method
 * announces one ({@link RelaySocketPlan}), else (and when the socket cannot be reached) a Relay
 * stream ({@link RelayPlan}) to that same node.
 */
final class RelayConnectMethod<S> implements ConnectMethod<S> {
  /** Set to true to relay by the Relay RPC even where a relay socket is offered (benchmarks). */
  static final boolean RPC_ONLY = Boolean.getBoolean("q2q.relay.rpc");

  private final Function<ServerAddress, PresenceGrpc.PresenceStub> stubAt;
  private final EventLoop loop;
  private final ServerAddress server;
  private final Supplier<SslContext> socketTls;
  private final Secure<S> secure;

  /**
   * @param stubAt the Presence stub of a node of the server's domain (called only when a Relay
   *     stream is opened)
   * @param server the server that answered Inbound
   * @param socketTls the TLS context for that server's relay socket
   */
  RelayConnectMethod(Function<ServerAddress, PresenceGrpc.PresenceStub> stubAt, EventLoop loop, ServerAddress server,
      Supplier<SslContext> socketTls, Secure<S> secure) {
    this.stubAt = stubAt;
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
    // a domain served by several nodes names the one holding the listener: the relay meets there
    ServerAddress meet = meetingNode(method).orElse(server);
    if (port > 0 && port <= 65535 && !RPC_ONLY) {
      return new RelaySocketPlan<>(loop, meet, port, socketTls, listener.getId(),
          () -> RelayChannel.open(stubAt.apply(meet), loop, listener.getId(), RelayRole.RELAY_ROLE_CONNECTOR,
              meet.toString()),
          (ch, route) -> secure.start(ch, route, listener.getId()));
    }
    return new RelayPlan<>(() -> stubAt.apply(meet), loop, listener.getId(), meet.toString(),
        (ch, route) -> secure.start(ch, route, listener.getId()));
  }

  /** The node the relay method names, if it names a well-formed one. */
  private static Optional<ServerAddress> meetingNode(ConnectionMethod method) {
    if (!method.getRelay().hasNode()) {
      return Optional.empty();
    }
    try {
      return Optional.of(
          new ServerAddress(method.getRelay().getNode().getHost(), method.getRelay().getNode().getPort()));
    } catch (IllegalArgumentException e) {
      return Optional.empty(); // a malformed node: the server that answered
    }
  }
}
