package org.q2q.client.internal.connect;

import io.netty.channel.Channel;
import java.net.InetSocketAddress;
import java.util.concurrent.CompletableFuture;
import java.util.function.BiFunction;
import org.q2q.client.Route;
import org.q2q.client.internal.accept.TcpTransportAcceptor;

/**
 * Reverse TCP, connecting side: waits for the listener to dial one of our TCP candidates for
 * this listener id (reach), then runs the peer session as initiator on that connection (secure).
 * Passive: it starts with the race and costs nothing while it waits. Thread-safe.
 *
 * @param <S> the session type
 */
final class ReverseTcpPlan<S> extends ReachThenSecure<S> {
  private final TcpTransportAcceptor acceptor;
  private final String listenerId;

  ReverseTcpPlan(TcpTransportAcceptor acceptor, String listenerId, BiFunction<Channel, Route, CompletableFuture<S>> secure) {
    super(new Route(Route.Kind.REVERSE_TCP, "to port " + acceptor.port()), secure);
    this.acceptor = acceptor;
    this.listenerId = listenerId;
  }

  @Override
  protected CompletableFuture<Channel> reach() {
    return acceptor.awaitReverse(listenerId);
  }

  @Override
  protected Route routeOf(Channel reached) {
    return Route.direct(Route.Kind.REVERSE_TCP, (InetSocketAddress) reached.remoteAddress());
  }
}
