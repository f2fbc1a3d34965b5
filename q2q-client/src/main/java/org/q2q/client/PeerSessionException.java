package org.q2q.client;

import java.io.IOException;
import java.util.Objects;

/**
 * A peer session could not be established or failed as a whole: wrong or untrusted peer
 * certificate ({@link Q2qErrorCode#WRONG_PEER}), handshake timeout or lost transport
 * ({@link Q2qErrorCode#SESSION_LOST}), or a peer breaking the frame protocol.
 */
public final class PeerSessionException extends IOException {
  private static final long serialVersionUID = 1L;

  private final Q2qErrorCode code;

  public PeerSessionException(Q2qErrorCode code, String message) {
    this(code, message, null);
  }

  public PeerSessionException(Q2qErrorCode code, String message, Throwable cause) {
    super(message, cause);
    this.code = Objects.requireNonNull(code, "code");
  }

  /** Why the session failed. */
  public Q2qErrorCode code() {
    return code;
  }
}
