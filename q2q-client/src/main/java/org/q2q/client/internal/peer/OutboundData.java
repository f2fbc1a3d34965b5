package org.q2q.client.internal.peer;

import io.netty.buffer.ByteBuf;

/**
 * A data frame on its way to the encoder, kept apart from {@code PeerFrame} so the payload is not
 * copied into a protobuf message.
 *
 * @param channelId the channel
 * @param payload 1..64 KiB; ownership passes with this object to whoever writes it (the encoder
 *     releases it, or the pipeline does if the write fails)
 */
record OutboundData(long channelId, ByteBuf payload) {}
