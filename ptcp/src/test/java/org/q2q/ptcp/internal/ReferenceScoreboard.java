package org.q2q.ptcp.internal;

import java.util.ArrayList;

/**
 * Test oracle: the straightforward scoreboard the optimized {@link Scoreboard} must match exactly (an
 * object per segment, a full rescan for loss detection on every call, every SACK block walked in
 * full). Same rules, see {@link Scoreboard}.
 */
final class ReferenceScoreboard {
  /** SACKed segments above a hole that declare it lost. */
  public static final int DUP_THRESH = 3;
  private final ArrayList<Seg> segs = new ArrayList<>();
  /** Index of the first live segment in {@link #segs}. */
  private int head;
  /** Bytes sent, not SACKed, not acked, not marked lost. */
  private long inFlight;
  /** Segments marked lost and not yet retransmitted. */
  private int lostCount;
  /** Lowest index that may be lost (search hint). */
  private int lostHint;
  /** Number of SACKed segments held. */
  private int sackedCount;
  /** Latest send time among delivered (acked or SACKed) segments, ns. */
  private long rackSentTime = Long.MIN_VALUE;

  /** Bytes in flight. */
  public long inFlight() {
    return inFlight;
  }

  /** Live segments. */
  public int size() {
    return segs.size() - head;
  }

  /** Whether no segment is outstanding. */
  public boolean isEmpty() {
    return size() == 0;
  }

  /** Segment at live index {@code i}. */
  public Seg get(int i) {
    return segs.get(head + i);
  }

  /** Segments awaiting retransmission. */
  public int lostCount() {
    return lostCount;
  }

  /** Records a new transmission at the end of the sequence space. */
  public Seg add(long start, int len, boolean fin, long now, int datagramSize) {
    Seg s = new Seg(start, len, fin, now, datagramSize);
    segs.add(s);
    inFlight += len;
    return s;
  }

  /** Callback for delivered segments. */
  interface Delivered {
    void delivered(Seg s);
  }

  /**
   * Removes segments fully below {@code ackOffset} (cumulative ACK), trimming a partially acked one,
   * and reports newly delivered ones. Returns the payload bytes newly delivered.
   */
  public long onCumulativeAck(long ackOffset, Delivered cb) {
    long bytes = 0;
    while (head < segs.size()) {
      Seg s = segs.get(head);
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
        segs.set(head, null);
        head++;
      } else if (s.start < ackOffset && !s.sacked) {
        int cut = (int) (ackOffset - s.start);
        if (!s.lost) {
          inFlight -= cut;
        }
        s.start += cut;
        s.length -= cut;
        bytes += cut;
        break;
      } else {
        break;
      }
    }
    if (head > 1024 && head > segs.size() / 2) {
      segs.subList(0, head).clear();
      lostHint = Math.max(0, lostHint - head);
      head = 0;
    }
    if (lostHint < head) {
      lostHint = head;
    }
    return bytes;
  }

  /** Marks segments fully inside [left, right) as SACKed. Returns the payload bytes newly SACKed. */
  public long onSack(long left, long right, Delivered cb) {
    long bytes = 0;
    int i = search(left);
    for (; i < segs.size(); i++) {
      Seg s = segs.get(i);
      if (s.start >= right) {
        break;
      }
      if (s.sacked || s.start < left || s.end() > right) {
        continue;
      }
      s.sacked = true;
      sackedCount++;
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

  private void noteDelivered(Seg s) {
    if (s.sentTime > rackSentTime) {
      rackSentTime = s.sentTime;
    }
  }

  /** First live index whose segment ends after {@code offset} (binary search). */
  private int search(long offset) {
    int lo = head;
    int hi = segs.size();
    while (lo < hi) {
      int mid = (lo + hi) >>> 1;
      if (segs.get(mid).end() <= offset) {
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
    int sackedAbove = 0;
    for (int i = segs.size() - 1; i >= head; i--) {
      Seg s = segs.get(i);
      if (s.sacked) {
        sackedAbove++;
        continue;
      }
      if (!s.lost && sackedAbove >= DUP_THRESH && s.sentTime < rackSentTime) {
        markLost(i);
        newest = Math.max(newest, s.sentTime);
      }
    }
    return newest;
  }

  private void markLost(int i) {
    Seg s = segs.get(i);
    s.lost = true;
    inFlight -= s.length;
    lostCount++;
    if (i < lostHint) {
      lostHint = i;
    }
  }

  /** Marks every un-SACKed segment lost (RTO). */
  public void markAllLost() {
    for (int i = head; i < segs.size(); i++) {
      Seg s = segs.get(i);
      if (!s.sacked && !s.lost) {
        markLost(i);
      }
    }
  }

  /** Marks the newest outstanding un-SACKed segment lost (tail-loss probe); returns false if none. */
  public boolean markLastLost() {
    for (int i = segs.size() - 1; i >= head; i--) {
      Seg s = segs.get(i);
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
    for (int i = head; i < segs.size(); i++) {
      Seg s = segs.get(i);
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
  public Seg firstLost(int maxPayload) {
    if (lostCount == 0) {
      return null;
    }
    for (int i = Math.max(lostHint, head); i < segs.size(); i++) {
      Seg s = segs.get(i);
      if (s.lost) {
        lostHint = i;
        if (s.length > maxPayload) {
          Seg rest = new Seg(s.start + maxPayload, s.length - maxPayload, s.fin,
              s.sentTime, s.datagramSize);
          rest.lost = true;
          rest.retransmitted = s.retransmitted;
          s.length = maxPayload;
          s.fin = false;
          segs.add(i + 1, rest);
          lostCount++;
        }
        return s;
      }
    }
    lostHint = segs.size();
    return null;
  }

  /** Records the retransmission of lost segment {@code s} at {@code now}. */
  public void onRetransmit(Seg s, long now, int datagramSize) {
    s.lost = false;
    s.retransmitted = true;
    s.sentTime = now;
    s.datagramSize = datagramSize;
    lostCount--;
    inFlight += s.length;
  }

  /** Send time of the oldest un-SACKed outstanding segment, or Long.MAX_VALUE. */
  public long oldestSentTime() {
    for (int i = head; i < segs.size(); i++) {
      Seg s = segs.get(i);
      if (!s.sacked) {
        return s.sentTime;
      }
    }
    return Long.MAX_VALUE;
  }

  /** Discards everything. */
  public void clear() {
    segs.clear();
    head = 0;
    inFlight = 0;
    lostCount = 0;
    lostHint = 0;
    sackedCount = 0;
  }

  static final class Seg {
    /** Stream offset of the first payload byte. */
    public long start;
    /** Payload bytes. */
    public int length;
    /** Whether the FIN follows the payload (occupying offset start+length). */
    public boolean fin;
    /** Time of the latest (re)transmission, ns. */
    public long sentTime;
    /** Whether it was ever retransmitted (Karn: no RTT sample). */
    public boolean retransmitted;
    /** Selectively acknowledged by the peer. */
    public boolean sacked;
    /** Deemed lost and awaiting retransmission (not counted in flight). */
    public boolean lost;
    /** Connection's delivered-bytes count when (re)sent (delivery-rate estimation). */
    public long deliveredAtSend;
    /** Time of the last delivery when (re)sent, ns. */
    public long deliveredTimeAtSend;
    /** Send time of the segment that was newest-delivered when this one was (re)sent, ns. */
    public long firstSentTimeAtSend;
    /** Whether the sender was application-limited when it was sent. */
    public boolean appLimitedAtSend;
    /** Datagram size it was sent in, bytes. */
    public int datagramSize;

    Seg(long start, int length, boolean fin, long sentTime, int datagramSize) {
      this.start = start;
      this.length = length;
      this.fin = fin;
      this.sentTime = sentTime;
      this.datagramSize = datagramSize;
    }

    /** Offset one past the last sequence number it occupies (payload, plus one for FIN). */
    public long end() {
      return start + length + (fin ? 1 : 0);
    }
  }
}
