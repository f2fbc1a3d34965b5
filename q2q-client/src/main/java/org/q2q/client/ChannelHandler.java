package org.q2q.client;

/**
 * Receives the channels a listener accepted. Called on the client's handler executor (not an
 * event loop), so it may use the channel's blocking streams; a Netty user installs handlers on
 * {@code channel.channel().pipeline()} and then turns autoRead on. An exception resets the channel.
 */
@FunctionalInterface
public interface ChannelHandler {
  /** A peer opened {@code channel}; its {@link VirtualChannel#remoteAddress()} is verified. */
  void accepted(VirtualChannel channel) throws Exception;
}
