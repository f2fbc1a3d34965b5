package org.q2q.ptcp;

/**
 * Something the application must hear about, returned by {@link PtcpEndpoint#pollEvent()}.
 *
 * @param type what happened
 * @param connection the connection concerned
 * @param error for {@link Type#CLOSED}: the failure, or null for a clean close
 */
public record PtcpEvent(Type type, PtcpConnection connection, PtcpException error) {
  /** Event kinds. */
  public enum Type {
    /** A listener accepted a new inbound connection (it is ESTABLISHED). */
    ACCEPTED,
    /** An outbound connection completed its handshake. */
    CONNECTED,
    /** Bytes became readable (edge-triggered: after the receive buffer was empty). */
    READABLE,
    /** Send-buffer space became available after a short write. */
    WRITABLE,
    /** The peer's FIN arrived: after the buffered bytes, reads return -1. */
    INPUT_SHUTDOWN,
    /** The connection is finished: cleanly (error null) or with an error. */
    CLOSED
  }
}
