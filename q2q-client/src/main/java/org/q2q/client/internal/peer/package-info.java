/**
 * Not API: the peer session (mutual TLS between two q2q identities, length-delimited protobuf
 * {@code PeerFrame}s) and the virtual-channel multiplexer with per-channel choke/unchoke flow
 * control, child Netty channels and blocking stream adapters.
 *
 * <p>Pipeline installed on a transport channel, head to tail: {@code q2q-tls} (SslHandler, the
 * initiator is the TLS client) → {@code q2q-record-batcher} (gathers small writes into one record,
 * passes payloads through uncopied) → {@code q2q-frame-decoder} / {@code q2q-frame-encoder} (varint32
 * length + PeerFrame, bounded frame size) → {@code q2q-handshake} (Hello exchange, replaced once
 * done by) {@code q2q-mux} ({@link org.q2q.client.internal.peer.Multiplexer}).
 *
 * <p>Wire conventions beyond peer.proto's comments (version 1):
 *
 * <ul>
 *   <li>A reset on channel id 0 is a session-level error (like HTTP/2 GOAWAY): the sender says why
 *       (NO_ERROR for an orderly close) and then closes the transport.
 *   <li>{@code receive_budget} in Open/Accept is the sender's overrun allowance: how many bytes a
 *       peer may still send on a channel after this side choked it. A sender keeps its data bytes
 *       not yet acknowledged within the smallest budget announced.
 *   <li>A Ping's nonce is the sender's cumulative count of data payload bytes written when it sent
 *       the Ping; the Pong echoing it acknowledges all of them (frames are handled in order).
 * </ul>
 *
 * <p>Vertex's virtual-channel bugs (spec section 9) and what replaced them: writes of any size are
 * chunked (64 KiB by default); a frame for an unknown channel is answered with a reset
 * (PROTOCOL_ERROR) instead of an exception only logged; a failing application handler resets its
 * channel (INTERNAL_ERROR) instead of being logged and ignored; AMP internals are not involved.
 */
package org.q2q.client.internal.peer;
