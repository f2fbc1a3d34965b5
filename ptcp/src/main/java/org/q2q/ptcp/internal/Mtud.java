package org.q2q.ptcp.internal;

/**
 * Datagram-size (path MTU) discovery in the style of RFC 8899 (DPLPMTUD) and quinn {@code mtud.rs}.
 *
 * <ul>
 *   <li>Start at a safe size and binary-search upward with padded PROBE datagrams that the peer
 *       acknowledges with a PROBE_ACK option; three unanswered probes lower the search ceiling.
 *   <li>A size-too-big (STB) report from the peer, caused by a path truncating datagrams, sets the
 *       size and ceiling to the reported size at once (Vertex's STB signal, fixed).
 *   <li>Repeated RTOs while using a size above the minimum halve it (black-hole fallback).
 * </ul>
 *
 * <p>Not thread-safe; event-loop only.
 */
public final class Mtud {
  private static final int MAX_PROBES = 3;
  private static final int DONE_GAP = 16;
  /** Current datagram size, bytes. */
  private int current;
  /** Largest size known (or assumed) to work, bytes. */
  private int lower;
  /** Smallest size known not to work minus one; probing stays at or below it, bytes. */
  private int upper;
  private final int min;
  /** The initial (assumed safe) size, bytes. */
  private final int base;
  /** Size of the probe in flight, or 0. */
  private int probeSize;
  private int probeTries;
  /** Whether the current ceiling was probed directly. */
  private boolean triedUpper;

  /** Creates a search starting at {@code initial}, never below {@code min} nor above {@code max}. */
  public Mtud(int initial, int min, int max) {
    this.min = min;
    this.base = Math.max(min, Math.min(initial, max));
    this.current = Math.max(min, Math.min(initial, max));
    this.lower = current;
    this.upper = max;
  }

  /** Current datagram size, bytes. */
  public int current() {
    return current;
  }

  /** Lowers the ceiling, e.g. to the peer's maximum receive size. */
  public void capTo(int max) {
    upper = Math.min(upper, max);
    if (current > upper) {
      current = Math.max(min, upper);
      lower = current;
    }
  }

  /** Size of the next probe to send, or 0 when the search is done or a probe is in flight. */
  public int nextProbe() {
    if (probeSize != 0 || upper - lower < DONE_GAP) {
      return 0;
    }
    // Try the ceiling first (often the path takes the maximum), then bisect.
    probeSize = triedUpper ? (lower + upper + 1) / 2 : upper;
    triedUpper = true;
    probeTries = 0;
    return probeSize;
  }

  /** Size of the probe in flight, or 0. */
  public int probeInFlight() {
    return probeSize;
  }

  /** A probe must be (re)sent; returns false when it has been tried enough and is given up. */
  public boolean onProbeSent() {
    return ++probeTries <= MAX_PROBES;
  }

  /** The probe timer expired. Returns true when the probe should be sent again. */
  public boolean onProbeTimeout() {
    if (probeSize == 0) {
      return false;
    }
    if (probeTries >= MAX_PROBES) {
      upper = probeSize - 1;
      probeSize = 0;
      return false;
    }
    return true;
  }

  /** The peer acknowledged a probe of {@code size}. Returns true if the current size grew. */
  public boolean onProbeAck(int size) {
    if (size <= lower || size > upper) {
      return false;
    }
    lower = size;
    if (size == probeSize) {
      probeSize = 0;
    }
    if (size > current) {
      current = size;
      return true;
    }
    return false;
  }

  /**
   * The peer reported receiving a truncated datagram of {@code size} bytes (STB). Returns true if the
   * current size shrank.
   */
  public boolean onSizeTooBig(int size, int sentSize) {
    if (size >= sentSize || size < min / 2) {
      return false;
    }
    size = Math.max(min, size);
    upper = Math.min(upper, size);
    triedUpper = false; // the truncation size itself is the best guess
    if (probeSize > upper) {
      probeSize = 0;
    }
    if (current > size) {
      current = size;
      lower = size;
      return true;
    }
    lower = Math.min(lower, size);
    return false;
  }

  /**
   * Repeated RTOs: fall back to the initial size, or halve it when already there (black-hole
   * fallback). The search may later climb back to just below the abandoned size. Returns true if the
   * size shrank.
   */
  public boolean onBlackHole() {
    if (current <= min) {
      return false;
    }
    upper = current - 1;
    current = current > base ? base : Math.max(min, current / 2);
    lower = current;
    probeSize = 0;
    return true;
  }
}
