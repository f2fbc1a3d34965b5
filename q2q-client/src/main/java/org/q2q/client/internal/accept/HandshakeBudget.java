package org.q2q.client.internal.accept;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;

/**
 * Bounds the inbound transports of one acceptor that have not finished their handshake yet, so
 * connections that never authenticate cannot pile up. Thread-safe.
 */
final class HandshakeBudget {
  private final int max;
  private final String what;
  private final Logger log;
  private final AtomicInteger inFlight = new AtomicInteger();
  private final AtomicBoolean warned = new AtomicBoolean();

  HandshakeBudget(int max, String what, Logger log) {
    this.max = max;
    this.what = what;
    this.log = log;
  }

  /**
   * Takes a place for one handshake.
   *
   * @return what gives it back (idempotent), or null if every place is taken (refuse the transport)
   */
  Runnable tryEnter() {
    if (inFlight.incrementAndGet() > max) {
      inFlight.decrementAndGet();
      if (warned.compareAndSet(false, true)) {
        log.warn("{}: {} handshakes in progress, refusing more until some finish", what, max);
      }
      return null;
    }
    AtomicBoolean held = new AtomicBoolean(true);
    return () -> {
      if (held.compareAndSet(true, false)) {
        inFlight.decrementAndGet();
        warned.set(false);
      }
    };
  }
}
