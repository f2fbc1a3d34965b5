package org.q2q.client.internal.connect;

import java.io.IOException;
import java.util.List;

/** Every connection method failed (or the hard timeout passed); the message lists each one. */
public final class RaceFailedException extends IOException {
  private static final long serialVersionUID = 1L;

  private final boolean timedOut;

  /** One method's failure, named after the method. */
  public static final class MethodFailure extends IOException {
    private static final long serialVersionUID = 1L;

    MethodFailure(String method, Throwable cause) {
      super(method + ": " + (cause.getMessage() == null ? cause.toString() : cause.getMessage()), cause);
    }
  }

  RaceFailedException(String timeout, List<Throwable> failures, List<String> skipped) {
    super(message(timeout, failures, skipped));
    this.timedOut = timeout != null;
    failures.forEach(this::addSuppressed);
  }

  /** True if the hard timeout ended the race. */
  public boolean timedOut() {
    return timedOut;
  }

  private static String message(String timeout, List<Throwable> failures, List<String> skipped) {
    StringBuilder b = new StringBuilder(timeout != null ? "no connection method succeeded (" + timeout + ")"
        : failures.isEmpty() && skipped.isEmpty() ? "the listener offered no connection method"
        : "every connection method failed");
    for (Throwable f : failures) {
      b.append("; ").append(f.getMessage());
    }
    for (String s : skipped) {
      b.append("; ").append(s);
    }
    return b.toString();
  }
}
