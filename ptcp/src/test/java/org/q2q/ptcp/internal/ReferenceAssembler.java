package org.q2q.ptcp.internal;

import java.util.Iterator;
import java.util.Map;
import java.util.TreeMap;

/**
 * Test oracle: the straightforward reassembly queue (a byte array per chunk in a tree map, ranges in
 * another) whose SACK blocks and delivered bytes the ring-backed {@link Assembler} must match.
 */
final class ReferenceAssembler {
  /** Chunks keyed by start offset; never overlapping. */
  private final TreeMap<Long, byte[]> chunks = new TreeMap<>();
  /** Merged ranges start -> end (exclusive); adjacent chunks share one range. */
  private final TreeMap<Long, Long> ranges = new TreeMap<>();
  /** Bytes held. */
  private long held;
  /**
   * Starts of the ranges that changed most recently, newest first (RFC 2018 4: the first SACK block
   * is the latest segment's range, the next ones repeat the most recently reported ranges). Reporting
   * only "latest, then lowest" hid a range extended just before a new hole opened in the same burst;
   * the sender then saw SACKed data above it and retransmitted it needlessly (~7 % of the data at 1 %
   * loss on the benchmark link).
   */
  private final long[] recent = new long[8];
  private int recentCount;

  /** Bytes held out of order. */
  public long heldBytes() {
    return held;
  }

  /** Whether nothing is held. */
  public boolean isEmpty() {
    return chunks.isEmpty();
  }

  /**
   * Stores {@code len} bytes of {@code data} at {@code pos} as stream range [start, start+len), minus
   * the parts already held. Returns the number of new bytes stored.
   */
  public int insert(long start, byte[] data, int pos, int len) {
    long end = start + len;
    long cur = start;
    int added = 0;
    Map.Entry<Long, byte[]> prev = chunks.floorEntry(start);
    if (prev != null && prev.getKey() + prev.getValue().length > cur) {
      cur = prev.getKey() + prev.getValue().length;
    }
    while (cur < end) {
      Map.Entry<Long, byte[]> next = chunks.ceilingEntry(cur);
      long stop = next == null ? end : Math.min(end, next.getKey());
      if (stop > cur) {
        byte[] piece = new byte[(int) (stop - cur)];
        System.arraycopy(data, pos + (int) (cur - start), piece, 0, piece.length);
        chunks.put(cur, piece);
        added += piece.length;
      }
      if (next == null || next.getKey() >= end) {
        break;
      }
      cur = next.getKey() + next.getValue().length;
    }
    held += added;
    addRange(start, end);
    return added;
  }

  private void addRange(long start, long end) {
    Map.Entry<Long, Long> lo = ranges.floorEntry(start);
    if (lo != null && lo.getValue() >= start) {
      start = lo.getKey();
      end = Math.max(end, lo.getValue());
    }
    Map.Entry<Long, Long> hi = ranges.ceilingEntry(start);
    while (hi != null && hi.getKey() <= end) {
      end = Math.max(end, hi.getValue());
      ranges.remove(hi.getKey());
      hi = ranges.ceilingEntry(start);
    }
    ranges.put(start, end);
    touch(start, end);
  }

  private void touch(long start, long end) {
    int n = 0;
    for (int i = 0; i < recentCount; i++) {
      long r = recent[i];
      if (r < start || r >= end) {
        recent[n++] = r; // keep ranges not merged into this one
      }
    }
    int keep = Math.min(n, recent.length - 1);
    System.arraycopy(recent, 0, recent, 1, keep);
    recent[0] = start;
    recentCount = keep + 1;
  }

  /** Removes and returns the chunk starting at or below {@code rcvNxt}, or null. */
  public byte[] pollReady(long rcvNxt, long[] startOut) {
    while (true) {
      Map.Entry<Long, byte[]> first = chunks.firstEntry();
      if (first == null || first.getKey() > rcvNxt) {
        return null;
      }
      chunks.pollFirstEntry();
      held -= first.getValue().length;
      long end = first.getKey() + first.getValue().length;
      if (end <= rcvNxt) {
        continue;
      }
      startOut[0] = first.getKey();
      return first.getValue();
    }
  }

  /** Drops range bookkeeping below {@code rcvNxt}. */
  public void advance(long rcvNxt) {
    Iterator<Map.Entry<Long, Long>> it = ranges.entrySet().iterator();
    while (it.hasNext()) {
      Map.Entry<Long, Long> e = it.next();
      if (e.getKey() >= rcvNxt) {
        break;
      }
      it.remove();
      if (e.getValue() > rcvNxt) {
        ranges.put(rcvNxt, e.getValue());
        break;
      }
    }
  }

  /**
   * Fills up to {@code max} SACK blocks (offsets): the most recently changed ranges, newest first,
   * then the lowest ranges not yet reported. Returns the number of blocks.
   */
  public int sackBlocks(long[] left, long[] right, int max) {
    int n = 0;
    for (int i = 0; i < recentCount && n < max; i++) {
      Map.Entry<Long, Long> e = ranges.floorEntry(recent[i]);
      if (e != null && e.getValue() > recent[i] && !reported(left, n, e.getKey())) {
        left[n] = e.getKey();
        right[n] = e.getValue();
        n++;
      }
    }
    for (Map.Entry<Long, Long> e : ranges.entrySet()) {
      if (n >= max) {
        break;
      }
      if (!reported(left, n, e.getKey())) {
        left[n] = e.getKey();
        right[n] = e.getValue();
        n++;
      }
    }
    return n;
  }

  private static boolean reported(long[] left, int n, long start) {
    for (int i = 0; i < n; i++) {
      if (left[i] == start) {
        return true;
      }
    }
    return false;
  }

  /** Discards everything held. */
  public void clear() {
    chunks.clear();
    ranges.clear();
    recentCount = 0;
    held = 0;
  }
}
