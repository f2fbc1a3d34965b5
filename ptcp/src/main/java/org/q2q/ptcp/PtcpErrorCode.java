package org.q2q.ptcp;

/**
 * Why a PTCP connection ended abnormally. The numbers are stable: they appear on the wire in the
 * ERROR option of an RST and in logs; never renumber, only append.
 */
public enum PtcpErrorCode {
  /** No error (used on the wire for a plain reset). */
  NONE(0),
  /** The handshake got no answer within the connect timeout. */
  CONNECT_TIMEOUT(1),
  /** Nothing useful was heard from the peer within the idle timeout. */
  IDLE_TIMEOUT(2),
  /** The peer reset the connection (it aborted, or it has no such connection). */
  CONNECTION_RESET(3),
  /** The peer answered the SYN with a reset: nothing listens there. */
  CONNECTION_REFUSED(4),
  /** The peer violated the protocol. */
  PROTOCOL_VIOLATION(5),
  /** This side aborted the connection. */
  LOCAL_ABORT(6),
  /** The endpoint (socket) was closed under the connection. */
  ENDPOINT_CLOSED(7);

  private final int code;

  PtcpErrorCode(int code) {
    this.code = code;
  }

  /** The stable wire number. */
  public int code() {
    return code;
  }

  /** Returns the constant for a wire number, or {@link #CONNECTION_RESET} for unknown numbers. */
  public static PtcpErrorCode fromCode(int code) {
    for (PtcpErrorCode c : values()) {
      if (c.code == code) {
        return c;
      }
    }
    return CONNECTION_RESET;
  }
}
