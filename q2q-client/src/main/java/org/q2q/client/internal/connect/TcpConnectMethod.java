package org.q2q.client.internal.connect;

import io.netty.channel.EventLoopGroup;
import org.q2q.client.Route;
import org.q2q.proto.ConnectionMethod;
import org.q2q.proto.Listener;

/** Direct TCP, connecting side: a {@link TcpPlan} per advertised address. */
final class TcpConnectMethod<S> implements ConnectMethod<S> {
  private final EventLoopGroup group;
  private final Deadline deadline;
  private final Secure<S> secure;

  TcpConnectMethod(EventLoopGroup group, Deadline deadline, Secure<S> secure) {
    this.group = group;
    this.deadline = deadline;
    this.secure = secure;
  }

  @Override
  public ConnectionMethod.KindCase advertised() {
    return ConnectionMethod.KindCase.TCP;
  }

  @Override
  public Route.Kind kind() {
    return Route.Kind.TCP;
  }

  @Override
  public int tier() {
    return 0;
  }

  @Override
  public ConnectPlan<S> plan(Listener listener, ConnectionMethod method) {
    return new TcpPlan<>(method.getTcp(), group, deadline, (ch, route) -> secure.start(ch, route, listener.getId()));
  }
}
