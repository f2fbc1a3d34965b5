package org.q2q.client;

/**
 * Why a peer session or one of its virtual channels ended, as carried on the wire in a reset
 * (mirrors {@code q2q.v1.ErrorCode}; the numbers are stable and never reused).
 */
public enum Q2qErrorCode {
  /** Orderly close. */
  NO_ERROR(0),
  /** The peer broke the frame protocol (bad frame, unknown channel, wrong id parity). */
  PROTOCOL_ERROR(1),
  /** No listener for the service on this address. */
  NO_SUCH_SERVICE(2),
  /** The listener refused the channel. */
  REFUSED(3),
  /** The peer sent past a choke by more than the allowance. */
  FLOW_CONTROL_ERROR(4),
  /** The application cancelled the channel. */
  CANCEL(5),
  /** Something failed inside the peer. */
  INTERNAL_ERROR(6),
  /** The peer session ended while the channel was open. */
  SESSION_LOST(7),
  /** A frame larger than the limit. */
  FRAME_TOO_LARGE(8),
  /** The peer's certificate is not the address expected (or not trusted at all). */
  WRONG_PEER(9),
  /** A code this version does not know (sent by a newer peer). */
  UNKNOWN(-1);

  private final int wireValue;

  Q2qErrorCode(int wireValue) {
    this.wireValue = wireValue;
  }

  /** The number on the wire; -1 for {@link #UNKNOWN}. */
  public int wireValue() {
    return wireValue;
  }

  /** The code for a wire number; {@link #UNKNOWN} for numbers this version does not know. */
  public static Q2qErrorCode fromWire(int value) {
    for (Q2qErrorCode c : values()) {
      if (c.wireValue == value && c != UNKNOWN) {
        return c;
      }
    }
    return UNKNOWN;
  }
}
