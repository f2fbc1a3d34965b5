package org.q2q.server.presence;

import java.time.Duration;
import java.util.function.BooleanSupplier;

/** Polls a condition with a deadline (tests must not sleep to synchronise). */
final class Await {
  private Await() {}

  static void until(Duration timeout, String what, BooleanSupplier condition) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out after " + timeout + " waiting for " + what);
      }
      Thread.onSpinWait();
      try {
        Thread.sleep(2); // polling interval, not synchronisation
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError("interrupted waiting for " + what);
      }
    }
  }

  /**
   * Waits until {@code condition} holds and {@code value} has not changed for {@code window}
   * (a steady state, e.g. a sender stuck on flow control); returns that value.
   */
  static long steady(Duration timeout, Duration window, String what, BooleanSupplier condition,
      java.util.function.LongSupplier value) {
    long deadline = System.nanoTime() + timeout.toNanos();
    long last = value.getAsLong();
    long since = System.nanoTime();
    while (true) {
      long now = System.nanoTime();
      long v = value.getAsLong();
      if (v != last || !condition.getAsBoolean()) {
        last = v;
        since = now;
      } else if (now - since >= window.toNanos()) {
        return v;
      }
      if (now > deadline) {
        throw new AssertionError("timed out after " + timeout + " waiting for " + what);
      }
      try {
        Thread.sleep(5); // polling interval
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError("interrupted waiting for " + what);
      }
    }
  }
}
