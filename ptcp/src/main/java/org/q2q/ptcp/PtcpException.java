package org.q2q.ptcp;

import java.io.IOException;

/** A PTCP connection failed; carries the {@link PtcpErrorCode} and the local connection id. */
public class PtcpException extends IOException {
  private static final long serialVersionUID = 1L;
  private final PtcpErrorCode code;
  private final int connectionId;

  /** Creates an exception for connection {@code connectionId}. */
  public PtcpException(PtcpErrorCode code, int connectionId, String message) {
    super(code + " (connection " + Integer.toHexString(connectionId) + "): " + message);
    this.code = code;
    this.connectionId = connectionId;
  }

  /** Why the connection ended. */
  public PtcpErrorCode code() {
    return code;
  }

  /** Local connection id. */
  public int connectionId() {
    return connectionId;
  }
}
