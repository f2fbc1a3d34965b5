package org.q2q.client.internal.peer;

import org.q2q.client.VirtualChannel;

/**
 * Decides about channels the peer opens. Called on the session's event loop, before the opener is
 * told the channel was accepted and before any byte is delivered: install handlers on {@code
 * channel.channel().pipeline()} here, or hand the channel to another thread that uses its streams.
 * Do not block, and do not write from inside this call (the channel becomes active right after).
 */
@FunctionalInterface
public interface ChannelAcceptor {
  /**
   * @return true to accept; false to refuse with {@code NO_SUCH_SERVICE}. Throwing refuses with
   *     {@code REFUSED} (the exception's message is not sent to the peer).
   */
  boolean accept(VirtualChannel channel) throws Exception;

  /** Refuses every channel (a session used only to open channels). */
  static ChannelAcceptor refuseAll() {
    return ch -> false;
  }
}
