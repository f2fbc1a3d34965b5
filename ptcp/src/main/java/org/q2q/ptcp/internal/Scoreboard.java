package org.q2q.ptcp.internal;

/**
 * The sender's scoreboard (RFC 6675): segments sent but not cumulatively acknowledged, in sequence
 * order, with SACK marks, loss marks and the bytes-in-flight ("pipe") count.
 *
 * <p>Loss is declared for an un-SACKed segment when at least {@code DUP_THRESH} SACKed segments lie
 * above it and a segment sent after it has been delivered (a RACK-style check that also catches lost
 * retransmissions). Not thread-safe; event-loop only.
 *
 * <p>Cost per datagram is O(1) amortized: segments live in a ring of {@link SentSegment} records
 * that are reused once cumulatively acknowledged (no allocation per segment), and loss detection
 * does not rescan the board on every ACK. Segments below the scan front ({@link #scanTop}) already
 * have {@code DUP_THRESH} SACKed segments above them for good (SACK marks are only removed from the
 * bottom), so only the segments there that were not yet old enough to be declared lost are
 * remembered ({@link #deferred}, oldest first) and checked again once a later-sent segment is
 * delivered; the front itself only moves up.
 *
 * <p>Ownership: a {@link SentSegment} returned by {@link #add}, {@link #get}, {@link #firstLost} or
 * passed to {@link Delivered} belongs to the board and is reused for a later segment once it leaves
 * it (cumulative ACK or {@link #clear}); callers must not keep it across calls that add segments.
 */
public final class Scoreboard {
  /** SACKed segments above a hole that declare it lost. */
  public static final int DUP_THRESH = 3;
  /** Live segments and, beyond them, recycled records; a power of two long. */
  private SentSegment[] ring = new SentSegment[64];
  /** Ring index of the oldest live segment. */
  private int headSlot;
  /** Live segments. */
  private int count;
  /** Absolute number of the oldest live segment (segments ever removed from the bottom). */
  private long base;
  /** Bytes sent, not SACKed, not acked, not marked lost. */
  private long inFlight;
  /** Segments marked lost and not yet retransmitted. */
  private int lostCount;
  /** Lowest live index that may be lost (search hint). */
  private int lostHint;
  /** Number of SACKed segments held. */
  private int sackedCount;
  /** Latest send time among delivered (acked or SACKed) segments, ns. */
  private long rackSentTime = Long.MIN_VALUE;
  /**
   * Absolute number of the loss-scan front: every live segment below it has at least
   * {@code DUP_THRESH} SACKed segments above it, and is SACKed, lost, or listed in {@link #deferred}.
   */
  private long scanTop;
  /** SACKed segments at or above {@link #scanTop}. */
  private int sackedAboveScan;
  /**
   * Segments below the scan front that were neither SACKed nor lost when listed and sent no earlier
   * than the newest delivered one (so not yet declared lost): a binary min-heap of send times
   * ({@link #deferredTime}) with the segments' absolute numbers ({@link #deferred}). An entry is
   * stale once its segment is delivered, lost or sent again; it is dropped when it reaches the top.
   */
  private long[] deferredTime = new long[16];
  private long[] deferred = new long[16];
  private int deferredCount;

  /** Bytes in flight. */
  public long inFlight() {
    return inFlight;
  }

  /** Live segments. */
  public int size() {
    return count;
  }

  /** Whether no segment is outstanding. */
  public boolean isEmpty() {
    return count == 0;
  }

  /** Segment at live index {@code i}. */
  public SentSegment get(int i) {
    if (i < 0 || i >= count) {
      throw new IndexOutOfBoundsException(i);
    }
    return seg(i);
  }

  private SentSegment seg(int i) {
    return ring[(headSlot + i) & (ring.length - 1)];
  }

  /** Segments awaiting retransmission. */
  public int lostCount() {
    return lostCount;
  }

  /** Records a new transmission at the end of the sequence space. */
  public SentSegment add(long start, int len, boolean fin, long now, int datagramSize) {
    SentSegment s = claimSlot(count);
    s.reset(start, len, fin, now, datagramSize);
    count++;
    inFlight += len;
    return s;
  }

  /** Makes room for one more segment and returns the (recycled or new) record at live index {@code i}. */
  private SentSegment claimSlot(int i) {
    if (count == ring.length) {
      SentSegment[] n = new SentSegment[ring.length * 2];
      for (int k = 0; k < count; k++) {
        n[k] = seg(k);
      }
      ring = n;
      headSlot = 0;
    }
    int slot = (headSlot + i) & (ring.length - 1);
    SentSegment s = ring[slot];
    if (s == null) {
      s = new SentSegment();
      ring[slot] = s;
    }
    return s;
  }

  /** Callback for delivered segments. */
  public interface Delivered {
    /** A segment's payload was delivered (acked or SACKed) for the first time. */
    void delivered(SentSegment s);
  }

  /**
   * Removes segments fully below {@code ackOffset} (cumulative ACK), trimming a partially acked one,
   * and reports newly delivered ones. Returns the payload bytes newly delivered.
   */
  public long onCumulativeAck(long ackOffset, Delivered cb) {
    long bytes = 0;
    int removed = 0;
    while (removed < count) {
      SentSegment s = seg(removed);
      if (s.end() <= ackOffset) {
        if (!s.sacked) {
          if (!s.lost) {
            inFlight -= s.length;
          } else {
            lostCount--;
          }
          bytes += s.length;
          noteDelivered(s);
          cb.delivered(s);
        } else {
          sackedCount--;
        }
        removed++;
      } else if (s.start < ackOffset && !s.sacked) {
        int cut = (int) (ackOffset - s.start);
        if (!s.lost) {
          inFlight -= cut;
        }
        s.start += cut;
        s.length -= cut;
        bytes += cut;
        forgetSacks();
        break;
      } else {
        break;
      }
    }
    if (removed > 0) {
      // The records stay in their slots for reuse by later segments.
      headSlot = (headSlot + removed) & (ring.length - 1);
      count -= removed;
      base += removed;
      lostHint = Math.max(0, lostHint - removed);
      if (scanTop < base) {
        scanTop = base;
        sackedAboveScan = sackedCount;
      }
    }
    return bytes;
  }

  /**
   * SACK blocks already applied: every segment fully inside [{@link #doneLeft}, {@link #doneRight})
   * is SACKed. The peer repeats its blocks in every ACK, usually with the same left edge and a right
   * edge that grew, so only the new part needs a walk. Forgotten when segment bounds change (a
   * partial cumulative ACK or a split can make a segment fit inside a block it straddled).
   */
  private final long[] doneLeft = new long[8];
  private final long[] doneRight = new long[8];
  private int doneCount;
  private int doneNext;

  private void forgetSacks() {
    doneCount = 0;
    doneNext = 0;
  }

  /** Marks segments fully inside [left, right) as SACKed. Returns the payload bytes newly SACKed. */
  public long onSack(long left, long right, Delivered cb) {
    long from = left;
    int d = 0;
    while (d < doneCount && doneLeft[d] != left) {
      d++;
    }
    if (d < doneCount) {
      if (right <= doneRight[d]) {
        return 0;
      }
      from = doneRight[d];
      doneRight[d] = right;
    } else {
      doneLeft[doneNext] = left;
      doneRight[doneNext] = right;
      doneNext = (doneNext + 1) & (doneLeft.length - 1);
      doneCount = Math.min(doneCount + 1, doneLeft.length);
    }
    long bytes = 0;
    int i = search(from);
    int scanIndex = (int) Math.min(count, scanTop - base);
    for (; i < count; i++) {
      SentSegment s = seg(i);
      if (s.start >= right) {
        break;
      }
      if (s.sacked || s.start < left || s.end() > right) {
        continue;
      }
      s.sacked = true;
      sackedCount++;
      if (i >= scanIndex) {
        sackedAboveScan++;
      }
      if (s.lost) {
        s.lost = false;
        lostCount--;
      } else {
        inFlight -= s.length;
      }
      bytes += s.length;
      noteDelivered(s);
      cb.delivered(s);
    }
    return bytes;
  }

  private void noteDelivered(SentSegment s) {
    if (s.sentTime > rackSentTime) {
      rackSentTime = s.sentTime;
    }
  }

  /** First live index whose segment ends after {@code offset} (binary search). */
  private int search(long offset) {
    int lo = 0;
    int hi = count;
    while (lo < hi) {
      int mid = (lo + hi) >>> 1;
      if (seg(mid).end() <= offset) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    return lo;
  }

  /**
   * Runs SACK-based loss detection; returns the send time of the newest segment newly declared lost,
   * or Long.MIN_VALUE if none.
   */
  public long detectLosses() {
    if (sackedCount == 0) {
      return Long.MIN_VALUE;
    }
    long newest = Long.MIN_VALUE;
    if (deferredCount > 0) {
      newest = checkDeferred();
    }
    // Advance the scan front while at least DUP_THRESH SACKed segments lie above it.
    int i = (int) (scanTop - base);
    int above = sackedAboveScan;
    for (; i < count; i++) {
      SentSegment s = seg(i);
      if (s.sacked) {
        above--;
        continue;
      }
      if (above < DUP_THRESH) {
        break;
      }
      if (!s.lost) {
        if (s.sentTime < rackSentTime) {
          markLost(i);
          newest = Math.max(newest, s.sentTime);
        } else {
          defer(base + i, s.sentTime);
        }
      }
    }
    scanTop = base + i;
    sackedAboveScan = above;
    return newest;
  }

  /** Declares deferred segments lost that a later-sent delivery has overtaken; drops stale entries. */
  private long checkDeferred() {
    long newest = Long.MIN_VALUE;
    while (deferredCount > 0 && deferredTime[0] < rackSentTime) {
      long time = deferredTime[0];
      int i = (int) (deferred[0] - base);
      popDeferred();
      if (i < 0) {
        continue; // cumulatively acknowledged (its record may already hold another segment)
      }
      SentSegment s = seg(i);
      if (!s.sacked && !s.lost && s.sentTime == time) {
        markLost(i);
        newest = Math.max(newest, time);
      }
    }
    return newest;
  }

  private void defer(long abs, long sentTime) {
    if (deferredCount == deferred.length) {
      deferred = java.util.Arrays.copyOf(deferred, deferredCount * 2);
      deferredTime = java.util.Arrays.copyOf(deferredTime, deferredCount * 2);
    }
    int k = deferredCount++;
    while (k > 0) {
      int parent = (k - 1) >>> 1;
      if (deferredTime[parent] <= sentTime) {
        break;
      }
      deferredTime[k] = deferredTime[parent];
      deferred[k] = deferred[parent];
      k = parent;
    }
    deferredTime[k] = sentTime;
    deferred[k] = abs;
  }

  private void popDeferred() {
    int n = --deferredCount;
    long time = deferredTime[n];
    long abs = deferred[n];
    int k = 0;
    while (true) {
      int c = 2 * k + 1;
      if (c >= n) {
        break;
      }
      if (c + 1 < n && deferredTime[c + 1] < deferredTime[c]) {
        c++;
      }
      if (deferredTime[c] >= time) {
        break;
      }
      deferredTime[k] = deferredTime[c];
      deferred[k] = deferred[c];
      k = c;
    }
    deferredTime[k] = time;
    deferred[k] = abs;
  }

  private void markLost(int i) {
    SentSegment s = seg(i);
    s.lost = true;
    inFlight -= s.length;
    lostCount++;
    if (i < lostHint) {
      lostHint = i;
    }
  }

  /** Marks every un-SACKed segment lost (RTO). */
  public void markAllLost() {
    for (int i = 0; i < count; i++) {
      SentSegment s = seg(i);
      if (!s.sacked && !s.lost) {
        markLost(i);
      }
    }
  }

  /** Marks the newest outstanding un-SACKed segment lost (tail-loss probe); returns false if none. */
  public boolean markLastLost() {
    for (int i = count - 1; i >= 0; i--) {
      SentSegment s = seg(i);
      if (!s.sacked && !s.lost) {
        markLost(i);
        return true;
      }
    }
    return false;
  }

  /** Marks un-SACKed segments sent in datagrams larger than {@code size} lost; returns how many. */
  public int markOversizeLost(int size) {
    int n = 0;
    for (int i = 0; i < count; i++) {
      SentSegment s = seg(i);
      if (!s.sacked && !s.lost && s.datagramSize > size) {
        markLost(i);
        n++;
      }
    }
    return n;
  }

  /**
   * Returns the first segment awaiting retransmission, splitting it so its payload is at most
   * {@code maxPayload}, or null.
   */
  public SentSegment firstLost(int maxPayload) {
    if (lostCount == 0) {
      return null;
    }
    for (int i = lostHint; i < count; i++) {
      SentSegment s = seg(i);
      if (s.lost) {
        lostHint = i;
        if (s.length > maxPayload) {
          split(i, maxPayload);
        }
        return s;
      }
    }
    lostHint = count;
    return null;
  }

  /** Splits lost segment {@code i} after {@code maxPayload} bytes; the rest follows it, also lost. */
  private void split(int i, int maxPayload) {
    SentSegment s = seg(i);
    SentSegment rest = claimSlot(count);
    s = seg(i); // the ring may have grown
    for (int k = count; k > i + 1; k--) {
      ring[(headSlot + k) & (ring.length - 1)] = seg(k - 1);
    }
    ring[(headSlot + i + 1) & (ring.length - 1)] = rest;
    count++;
    rest.reset(s.start + maxPayload, s.length - maxPayload, s.fin, s.sentTime, s.datagramSize);
    rest.lost = true;
    rest.retransmitted = s.retransmitted;
    s.length = maxPayload;
    s.fin = false;
    lostCount++;
    forgetSacks();
    // Segment numbers above the split moved up by one.
    long abs = base + i;
    if (scanTop > abs) {
      scanTop++;
    }
    for (int k = 0; k < deferredCount; k++) {
      if (deferred[k] > abs) {
        deferred[k]++;
      }
    }
  }

  /** Records the retransmission of lost segment {@code s} at {@code now}. */
  public void onRetransmit(SentSegment s, long now, int datagramSize) {
    s.lost = false;
    s.retransmitted = true;
    s.sentTime = now;
    s.datagramSize = datagramSize;
    lostCount--;
    inFlight += s.length;
    int i = lostHint < count && seg(lostHint) == s ? lostHint : indexOf(s);
    if (base + i < scanTop) {
      // Below the scan front the scan will not see it again: remember it for the RACK check.
      defer(base + i, now);
    }
  }

  private int indexOf(SentSegment s) {
    int i = search(s.start);
    while (seg(i) != s) {
      i++;
    }
    return i;
  }

  /** Send time of the oldest un-SACKed outstanding segment, or Long.MAX_VALUE. */
  public long oldestSentTime() {
    for (int i = 0; i < count; i++) {
      SentSegment s = seg(i);
      if (!s.sacked) {
        return s.sentTime;
      }
    }
    return Long.MAX_VALUE;
  }

  /** Discards everything. */
  public void clear() {
    headSlot = 0;
    count = 0;
    base = 0;
    inFlight = 0;
    lostCount = 0;
    lostHint = 0;
    sackedCount = 0;
    scanTop = 0;
    sackedAboveScan = 0;
    forgetSacks();
    deferredCount = 0;
  }
}
