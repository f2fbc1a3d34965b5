package org.q2q.server.internal.stun;

import java.net.InetAddress;

/**
 * Token buckets that bound how often the UDP port answers: one per source address (hashed into a
 * fixed table of 64 Ki slots, 1 MiB) and one for the whole port. A source spoofing a victim's address gets at most
 * {@code perSourceBurst} answers at once and {@code perSourcePerSecond} after that; spoofing many
 * sources is capped by the global bucket. Memory is fixed: {@link #BUCKETS} slots, whatever the
 * number of sources; addresses that hash to one slot share it (the hash is keyed with a random
 * value, so an outsider cannot aim at another address's slot).
 *
 * <p>Sans-IO: the caller passes monotonic nanoseconds. Not thread-safe (one event loop).
 */
final class AnswerBudget {
  /** Slots of the per-source table (a power of two). */
  static final int BUCKETS = 1 << 16;

  private final double perSourcePerNano;
  private final double perSourceBurst;
  private final double globalPerNano;
  private final double globalBurst;
  private final long hashKey;
  /** Tokens per slot, and when they were last topped up (ns; Long.MIN_VALUE: never). */
  private final double[] tokens = new double[BUCKETS];
  private final long[] last = new long[BUCKETS];
  private double globalTokens;
  private long globalLast = Long.MIN_VALUE;

  /**
   * @param perSourcePerSecond answers per second one source address earns
   * @param perSourceBurst answers one source may get at once
   * @param globalPerSecond answers per second the whole port sends at most
   * @param hashKey random key of the slot hash
   */
  AnswerBudget(double perSourcePerSecond, double perSourceBurst, double globalPerSecond, long hashKey) {
    if (perSourcePerSecond <= 0 || perSourceBurst < 1 || globalPerSecond <= 0) {
      throw new IllegalArgumentException("rates must be positive and bursts at least 1: " + perSourcePerSecond
          + "/s burst " + perSourceBurst + ", global " + globalPerSecond + "/s");
    }
    this.perSourcePerNano = perSourcePerSecond / 1e9;
    this.perSourceBurst = perSourceBurst;
    this.globalPerNano = globalPerSecond / 1e9;
    this.globalBurst = Math.max(1, globalPerSecond); // one second's worth
    this.hashKey = hashKey;
    java.util.Arrays.fill(last, Long.MIN_VALUE);
  }

  /** Takes one answer for {@code source} at {@code now}; false if its bucket or the global one is empty. */
  boolean tryTake(InetAddress source, long now) {
    int slot = slot(source);
    double t = last[slot] == Long.MIN_VALUE ? perSourceBurst
        : Math.min(perSourceBurst, tokens[slot] + (now - last[slot]) * perSourcePerNano);
    double g = globalLast == Long.MIN_VALUE ? globalBurst
        : Math.min(globalBurst, globalTokens + (now - globalLast) * globalPerNano);
    last[slot] = now;
    globalLast = now;
    if (t < 1 || g < 1) {
      tokens[slot] = t;
      globalTokens = g;
      return false;
    }
    tokens[slot] = t - 1;
    globalTokens = g - 1;
    return true;
  }

  private int slot(InetAddress source) {
    long h = hashKey;
    for (byte b : source.getAddress()) {
      h = (h ^ (b & 0xff)) * 0x100000001B3L; // FNV-1a step, seeded
    }
    h ^= h >>> 33; // finalizer (murmur3 fmix64) so that every bit reaches the slot index
    h *= 0xff51afd7ed558ccdL;
    h ^= h >>> 33;
    return (int) (h & (BUCKETS - 1));
  }
}
