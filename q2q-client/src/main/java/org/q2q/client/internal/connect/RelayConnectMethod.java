package org.q2q.client.internal.connect;

import io.netty.channel.EventLoop;
import org.q2q.client.Route;
import org.q2q.proto.ConnectionMethod;
import org.q2q.proto.Listener;
import org.q2q.proto.PresenceGrpc;

/** The relay, connecting side: a {@link RelayPlan} through the server that answered Inbound. */
final class RelayConnectMethod<S> implements ConnectMethod<S> {
  private final PresenceGrpc.PresenceStub stub;
  private final EventLoop loop;
  private final String server;
  private final Secure<S> secure;

  /** @param server the server that answered Inbound, {@code host:port} */
  RelayConnectMethod(PresenceGrpc.PresenceStub stub, EventLoop loop, String server, Secure<S> secure) {
    this.stub = stub;
    this.loop = loop;
    this.server = server;
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
    return new RelayPlan<>(stub, loop, listener.getId(), server, (ch, route) -> secure.start(ch, route, listener.getId()));
  }
}
