package org.q2q.ptcp.internal;

/**
 * One transmitted and not yet cumulatively acknowledged range of the send stream (offsets), with
 * the bookkeeping for SACK, loss detection and RTT sampling. Records are owned and reused by the
 * {@link Scoreboard}: one is valid only while its segment is on the board. Not thread-safe;
 * event-loop only.
 */
public final class SentSegment {
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

  SentSegment() {}

  /** Makes this (possibly recycled) record describe a new transmission. */
  void reset(long start, int length, boolean fin, long sentTime, int datagramSize) {
    this.start = start;
    this.length = length;
    this.fin = fin;
    this.sentTime = sentTime;
    this.datagramSize = datagramSize;
    retransmitted = false;
    sacked = false;
    lost = false;
    deliveredAtSend = 0;
    deliveredTimeAtSend = 0;
    firstSentTimeAtSend = 0;
    appLimitedAtSend = false;
  }

  /** Offset one past the last sequence number it occupies (payload, plus one for FIN). */
  public long end() {
    return start + length + (fin ? 1 : 0);
  }
}
