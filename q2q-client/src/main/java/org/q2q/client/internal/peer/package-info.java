/**
 * Not API: the peer session (mutual TLS between two q2q identities, length-delimited protobuf
 * {@code PeerFrame}s) and the virtual-channel multiplexer with per-channel choke/unchoke flow
 * control, child Netty channels and blocking stream adapters.
 *
 * <p>Pipeline installed on a transport channel, head to tail: {@code q2q-tls} (SslHandler, the
 * initiator is the TLS client) → {@code q2q-frame-decoder} / {@code q2q-frame-encoder} (varint32
 * length + PeerFrame, bounded frame size) → {@code q2q-handshake} (Hello exchange, replaced once
 * done by) {@code q2q-mux} ({@link org.q2q.client.internal.peer.Multiplexer}).
 */
package org.q2q.client.internal.peer;
