package org.q2q.client;

import java.io.IOException;
import java.util.Objects;

/**
 * A virtual channel ended abnormally: the peer reset it, this side reset it because the peer broke
 * the protocol, or the peer session under it was lost ({@link Q2qErrorCode#SESSION_LOST}).
 */
public final class ChannelResetException extends IOException {
  private static final long serialVersionUID = 1L;

  private final Q2qErrorCode code;
  private final long channelId;
  private final boolean byPeer;
  private final String reason;

  /**
   * @param code why
   * @param channelId the channel (0 when the whole session failed before a channel existed)
   * @param byPeer true if the peer sent the reset, false if this side decided it
   * @param reason human-readable detail, never a stack trace
   */
  public ChannelResetException(Q2qErrorCode code, long channelId, boolean byPeer, String reason) {
    this(code, channelId, byPeer, reason, null);
  }

  /** Like {@link #ChannelResetException(Q2qErrorCode, long, boolean, String)} with a cause. */
  public ChannelResetException(Q2qErrorCode code, long channelId, boolean byPeer, String reason, Throwable cause) {
    super(
        "channel " + channelId + (byPeer ? " reset by peer: " : " reset: ") + code
            + (reason == null || reason.isEmpty() ? "" : ": " + reason),
        cause);
    this.code = Objects.requireNonNull(code, "code");
    this.channelId = channelId;
    this.byPeer = byPeer;
    this.reason = reason == null ? "" : reason;
  }

  /** Why the channel ended. */
  public Q2qErrorCode code() {
    return code;
  }

  /** The channel id within its session. */
  public long channelId() {
    return channelId;
  }

  /** True if the peer sent the reset; false if this side decided it (including session loss). */
  public boolean byPeer() {
    return byPeer;
  }

  /** The human-readable reason (may be empty). */
  public String reason() {
    return reason;
  }
}
