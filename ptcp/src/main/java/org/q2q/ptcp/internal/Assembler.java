package org.q2q.ptcp.internal;

import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * Out-of-order reassembly: tracks received ranges above RCV.NXT until the gap below them is filled,
 * and reports them as SACK blocks (RFC 2018). Offsets are 64-bit stream offsets.
 *
 * <p>The bytes themselves go straight into the receive {@link ByteRing}, ahead of its end at their
 * own offsets (one copy from the datagram, no buffer per segment); {@link #drain} tells how far the
 * ring's readable end may move. Bytes already held are not written again (the first copy received
 * wins). Ranges are kept merged and sorted in two arrays. Not thread-safe; event-loop only.
 */
public final class Assembler {
  /** Where the bytes go, or null to track ranges only. */
  private final ByteRing ring;
  /** Merged ranges [starts[i], ends[i]), sorted, neither overlapping nor adjacent. */
  private long[] starts = new long[16];
  private long[] ends = new long[16];
  private int count;
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

  /** Creates an assembler storing bytes into {@code ring} (null: ranges only). */
  public Assembler(ByteRing ring) {
    this.ring = ring;
  }

  /** Bytes held out of order. */
  public long heldBytes() {
    return held;
  }

  /** Separate ranges held. */
  public int rangeCount() {
    return count;
  }

  /** Whether nothing is held. */
  public boolean isEmpty() {
    return count == 0;
  }

  /**
   * Records stream range [start, start+len) as received, storing the parts not already held into
   * the ring from {@code src} at index {@code pos} (nothing is stored when {@code src} is null).
   * Returns the number of new bytes.
   */
  public int insert(long start, ByteBuffer src, int pos, int len) {
    long end = start + len;
    if (count >= MAX_RANGES && !touchesARange(start, end)) {
      return 0; // a hostile sender's scattered bytes: dropped unstored, a real sender retransmits
    }
    int i = floor(start);
    long cur = start;
    int added = 0;
    if (i < 0) {
      i = 0;
    } else if (ends[i] > cur) {
      cur = ends[i];
      i++;
    } else {
      i++;
    }
    // i: first range starting above start; fill the gaps between cur and each range up to end.
    while (cur < end) {
      long stop = i < count ? Math.min(end, starts[i]) : end;
      if (stop > cur) {
        if (src != null && ring != null) {
          ring.writeAhead(cur, src, pos + (int) (cur - start), (int) (stop - cur));
        }
        added += (int) (stop - cur);
      }
      if (i >= count || starts[i] >= end) {
        break;
      }
      cur = ends[i];
      i++;
    }
    held += added;
    addRange(start, end);
    return added;
  }

  /**
   * Separate out-of-order ranges held at most: each costs 16 bytes and an O(n) insert, so a peer
   * sending one byte at alternating offsets gets no further than this.
   */
  public static final int MAX_RANGES = 1024;

  /** Whether [start, end) overlaps or adjoins a range already held (so it adds no new range). */
  private boolean touchesARange(long start, long end) {
    int lo = floor(start);
    return (lo >= 0 && ends[lo] >= start) || (lo + 1 < count && starts[lo + 1] <= end);
  }

  /** Index of the last range starting at or below {@code offset}, or -1. */
  private int floor(long offset) {
    int lo = 0;
    int hi = count - 1;
    while (lo <= hi) {
      int mid = (lo + hi) >>> 1;
      if (starts[mid] <= offset) {
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return hi;
  }

  private void addRange(long start, long end) {
    int lo = floor(start);
    int first;
    if (lo >= 0 && ends[lo] >= start) {
      start = starts[lo];
      end = Math.max(end, ends[lo]);
      first = lo;
    } else {
      first = lo + 1;
    }
    int last = first; // one past the ranges merged into [start, end)
    while (last < count && starts[last] <= end) {
      end = Math.max(end, ends[last]);
      last++;
    }
    if (last == first) {
      if (count == starts.length) {
        starts = Arrays.copyOf(starts, count * 2);
        ends = Arrays.copyOf(ends, count * 2);
      }
      System.arraycopy(starts, first, starts, first + 1, count - first);
      System.arraycopy(ends, first, ends, first + 1, count - first);
      count++;
    } else if (last > first + 1) {
      int gone = last - first - 1;
      System.arraycopy(starts, last, starts, first + 1, count - last);
      System.arraycopy(ends, last, ends, first + 1, count - last);
      count -= gone;
    }
    starts[first] = start;
    ends[first] = end;
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

  /**
   * Removes the ranges that start at or below {@code rcvNxt} and returns the new RCV.NXT: the end of
   * the contiguous data from there ({@code rcvNxt} itself when nothing is ready). The ring's bytes up
   * to it were stored by {@link #insert}.
   */
  public long drain(long rcvNxt) {
    int n = 0;
    while (n < count && starts[n] <= rcvNxt) {
      held -= ends[n] - starts[n];
      rcvNxt = Math.max(rcvNxt, ends[n]);
      n++;
    }
    if (n > 0) {
      System.arraycopy(starts, n, starts, 0, count - n);
      System.arraycopy(ends, n, ends, 0, count - n);
      count -= n;
    }
    return rcvNxt;
  }

  /**
   * Fills up to {@code max} SACK blocks (offsets): the most recently changed ranges, newest first,
   * then the lowest ranges not yet reported. Returns the number of blocks.
   */
  public int sackBlocks(long[] left, long[] right, int max) {
    int n = 0;
    for (int i = 0; i < recentCount && n < max; i++) {
      int e = floor(recent[i]);
      if (e >= 0 && ends[e] > recent[i] && !reported(left, n, starts[e])) {
        left[n] = starts[e];
        right[n] = ends[e];
        n++;
      }
    }
    for (int e = 0; e < count && n < max; e++) {
      if (!reported(left, n, starts[e])) {
        left[n] = starts[e];
        right[n] = ends[e];
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

  /** Discards everything held (the ring's bytes ahead of its end included). */
  public void clear() {
    count = 0;
    recentCount = 0;
    held = 0;
    if (ring != null) {
      ring.dropAhead();
    }
  }
}
