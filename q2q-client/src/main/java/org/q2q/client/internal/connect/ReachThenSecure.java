package org.q2q.client.internal.connect;

import io.netty.channel.Channel;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.function.BiFunction;
import org.q2q.client.Route;

/**
 * The shape every plan shares: reach a transport (the subclass's one job), then secure it with
 * the peer session's TLS; whatever was opened is closed when the attempt fails or is cancelled.
 * Thread-safe.
 *
 * @param <S> the session type
 */
abstract class ReachThenSecure<S> implements ConnectPlan<S> {
  private final Route route;
  private final BiFunction<Channel, Route, CompletableFuture<S>> secure;
  private volatile boolean cancelled;
  private volatile CompletableFuture<? extends Channel> reaching;
  private volatile CompletableFuture<S> securing;
  private final CompletableFuture<Void> reachedSignal = new CompletableFuture<>();

  /** @param secure starts the peer session (initiator) on the reached transport, for the route it took */
  ReachThenSecure(Route route, BiFunction<Channel, Route, CompletableFuture<S>> secure) {
    this.route = route;
    this.secure = secure;
  }

  /** Opens the transport; the future fails with a message that says why it could not. */
  protected abstract CompletableFuture<? extends Channel> reach();

  /** The route of the reached transport (default: the planned one). */
  protected Route routeOf(Channel reached) {
    return route;
  }

  /** For a reach phase with a decisive step before its end (a hole punched): signals reached now. */
  protected final void reachedPeer() {
    reachedSignal.complete(null);
  }

  @Override
  public final CompletableFuture<?> reached() {
    return reachedSignal;
  }

  @Override
  public final Route route() {
    return route;
  }

  @Override
  public final CompletableFuture<S> attempt() {
    CompletableFuture<? extends Channel> r = reach();
    reaching = r;
    if (cancelled) {
      r.cancel(false);
    }
    return r.thenCompose(ch -> {
      if (cancelled) {
        ch.close();
        return CompletableFuture.failedFuture(new CancellationException("cancelled"));
      }
      reachedSignal.complete(null);
      CompletableFuture<S> s = secure.apply(ch, routeOf(ch));
      securing = s;
      s.whenComplete((v, e) -> {
        if (e != null) {
          ch.close();
        }
      });
      return s;
    });
  }

  @Override
  public final void cancel() {
    cancelled = true;
    CompletableFuture<? extends Channel> r = reaching;
    if (r != null) {
      r.cancel(false);
      r.thenAccept(Channel::close);
    }
    CompletableFuture<S> s = securing;
    if (s != null) {
      s.cancel(false);
    }
  }
}
