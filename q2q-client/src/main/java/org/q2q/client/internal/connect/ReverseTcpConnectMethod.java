package org.q2q.client.internal.connect;

import org.q2q.client.Route;
import org.q2q.client.internal.accept.TcpTransportAcceptor;
import org.q2q.proto.ConnectionMethod;
import org.q2q.proto.Listener;

/** Reverse TCP, connecting side: waits on our acceptor for the listener to dial back. */
final class ReverseTcpConnectMethod<S> implements ConnectMethod<S> {
  private final TcpTransportAcceptor acceptor;
  private final Secure<S> secure;

  ReverseTcpConnectMethod(TcpTransportAcceptor acceptor, Secure<S> secure) {
    this.acceptor = acceptor;
    this.secure = secure;
  }

  @Override
  public ConnectionMethod.KindCase advertised() {
    return ConnectionMethod.KindCase.REVERSE_TCP;
  }

  @Override
  public Route.Kind kind() {
    return Route.Kind.REVERSE_TCP;
  }

  @Override
  public int tier() {
    return 0;
  }

  @Override
  public boolean passive() {
    return true;
  }

  @Override
  public ConnectPlan<S> plan(Listener listener, ConnectionMethod method) {
    return new ReverseTcpPlan<>(acceptor, listener.getId(), (ch, route) -> secure.start(ch, route, listener.getId()));
  }
}
