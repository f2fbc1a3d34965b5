package org.q2q.client.internal.peer;

import io.netty.buffer.ByteBuf;

/**
 * A data frame as decoded by {@link PeerFrameDecoder}'s fast path, kept apart from {@code
 * PeerFrame} so the payload is copied once, straight into a pooled buffer.
 *
 * @param channelId the channel
 * @param payload the bytes; ownership passes with this object to whoever reads it (the
 *     multiplexer hands it to the channel, which releases it)
 */
record InboundData(long channelId, ByteBuf payload) {}
