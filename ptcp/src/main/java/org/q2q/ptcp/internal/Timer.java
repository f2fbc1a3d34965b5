package org.q2q.ptcp.internal;

/** The timers of one PTCP connection (quinn {@code timer.rs}); each replaces a Vertex callLater site. */
public enum Timer {
  /** Retransmission (RFC 6298 RTO), SYN/handshake retry, or zero-window persist probe. */
  RETRANSMIT,
  /** Delayed acknowledgement. */
  DELAYED_ACK,
  /** Pacing: the next data datagram may leave at this time. */
  PACING,
  /** Send a keepalive PING when nothing was heard for the keepalive interval. */
  KEEPALIVE,
  /** Idle timeout, or the connect timeout while SYN_SENT: the connection fails when it fires. */
  IDLE,
  /** A path-MTU probe is lost if unanswered by then; also schedules the next probe. */
  MTU_PROBE,
  /** TIME_WAIT expiry: the connection record is removed. */
  TIME_WAIT;

  static final Timer[] VALUES = values();
}
