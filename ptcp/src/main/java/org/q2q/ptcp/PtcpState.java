package org.q2q.ptcp;

/** Connection states, named as in RFC 793 and Vertex's {@code tcpdfa.py}. */
public enum PtcpState {
  /** No connection (initial and final). */
  CLOSED,
  /** Client sent its SYN and waits for the SYN-ACK. */
  SYN_SENT,
  /** Data may flow both ways. */
  ESTABLISHED,
  /** We sent our FIN; it is not yet acknowledged. */
  FIN_WAIT_1,
  /** Our FIN is acknowledged; the peer may still send. */
  FIN_WAIT_2,
  /** Both FINs sent, ours not yet acknowledged. */
  CLOSING,
  /** Both directions closed; lingering to re-acknowledge a retransmitted FIN. */
  TIME_WAIT,
  /** The peer sent its FIN; we may still send. */
  CLOSE_WAIT,
  /** The peer's FIN was received and ours is sent, waiting for its acknowledgement. */
  LAST_ACK
}
