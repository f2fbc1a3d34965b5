package org.q2q.server.internal;

import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/** The one rule for what failed in a CompletableFuture chain. */
public final class Futures {
  private Futures() {}

  /**
   * The failure itself, without the CompletionException/ExecutionException wrappers a dependent
   * stage or {@code get()} adds (a gRPC Status thrown in a stage arrives wrapped).
   */
  public static Throwable unwrap(Throwable t) {
    while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) {
      t = t.getCause();
    }
    return t;
  }
}
