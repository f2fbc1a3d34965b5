package org.q2q.client.forward;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The most connections one forwarder, exposer or gateway port carries at once. Reaching it is
 * logged once (until the count drops again) and reported to {@link TunnelEvents#limitReached}.
 * Safe for concurrent use.
 */
final class ConnectionLimit {
  private static final Logger log = LoggerFactory.getLogger(ConnectionLimit.class);

  private final String owner;
  private final int max;
  private final boolean waiting;
  private final TunnelEvents events;
  /** Guarded by this. */
  private int active;
  /** Guarded by this: the limit was reached and not yet left. */
  private boolean atLimit;

  /**
   * @param owner for log lines, e.g. "forwarder 127.0.0.1:9000 -> bob@example.com/web"
   * @param waiting true if new connections wait at the limit (a forwarder stops accepting), false if refused
   */
  ConnectionLimit(String owner, int max, boolean waiting, TunnelEvents events) {
    if (max < 1) {
      throw new IllegalArgumentException("connection limit < 1: " + max);
    }
    this.owner = owner;
    this.max = max;
    this.waiting = waiting;
    this.events = events;
  }

  /** Takes a slot if one is free; reports reaching the limit. */
  boolean tryAcquire() {
    boolean reached;
    synchronized (this) {
      if (active >= max) {
        reached = !atLimit;
        atLimit = true;
        report(reached);
        return false;
      }
      active++;
      reached = active == max && !atLimit;
      if (reached) {
        atLimit = true;
      }
    }
    report(reached);
    return true;
  }

  /** True if all slots are taken. */
  synchronized boolean full() {
    return active >= max;
  }

  /** Frees a slot. */
  void release() {
    synchronized (this) {
      active--;
      if (atLimit && active < max) {
        atLimit = false;
        log.info("{}: below the limit of {} connections again", owner, max);
      }
    }
  }

  /** Connections now. */
  synchronized int active() {
    return active;
  }

  int max() {
    return max;
  }

  private void report(boolean reached) {
    if (reached) {
      log.warn("{}: limit of {} concurrent connections reached; {}", owner, max,
          waiting ? "new connections wait until one closes" : "new connections are refused until one closes");
      events.limitReached(max, waiting);
    }
  }
}
