package org.q2q.client.internal.peer;

import io.netty.handler.codec.DecoderException;
import org.q2q.client.Q2qErrorCode;

/** The byte stream did not hold a valid frame; fails the whole session with {@link #code()}. */
final class FrameException extends DecoderException {
  private static final long serialVersionUID = 1L;

  private final Q2qErrorCode code;

  FrameException(Q2qErrorCode code, String message) {
    super(message);
    this.code = code;
  }

  Q2qErrorCode code() {
    return code;
  }
}
