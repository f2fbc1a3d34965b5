package org.q2q.client.internal;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/** Bridges Netty futures to {@link CompletableFuture}. */
public final class Futures {
  private Futures() {}

  /** A CompletableFuture completed by {@code f}; cancelling it cancels {@code f}. */
  public static <T> CompletableFuture<T> of(io.netty.util.concurrent.Future<T> f) {
    CompletableFuture<T> c = new CompletableFuture<>() {
      @Override
      public boolean cancel(boolean mayInterruptIfRunning) {
        f.cancel(false);
        return super.cancel(mayInterruptIfRunning);
      }
    };
    f.addListener(x -> {
      if (x.isSuccess()) {
        c.complete(f.getNow());
      } else {
        c.completeExceptionally(x.cause());
      }
    });
    return c;
  }

  /** The cause of a failure, without CompletionException/ExecutionException wrappers. */
  public static Throwable unwrap(Throwable t) {
    while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) {
      t = t.getCause();
    }
    return t;
  }
}
