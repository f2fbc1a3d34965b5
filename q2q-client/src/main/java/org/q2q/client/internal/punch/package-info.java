/**
 * Not API: UDP hole punching for PTCP (issue 9). {@link org.q2q.client.internal.punch.HolePunch}
 * is the sans-IO schedule (probes, deadline, path found); {@link
 * org.q2q.client.internal.punch.PunchProbe} the 48-byte authenticated probe; {@link
 * org.q2q.client.internal.punch.PunchKey} the key and tag derived from the Inbound's listener id.
 *
 * <p>One UDP socket per client carries PTCP, STUN and probes. Who gets a datagram is decided by its
 * first bytes, in this order (write it nowhere else):
 * <ol>
 *   <li>first byte 0xD7: PTCP (ptcp/WIRE.md); the PtcpSocket core takes it, everything else goes to
 *       its raw-datagram handler;
 *   <li>at least 20 bytes, first two bits 00 and the magic cookie 0x2112A442 at bytes 4..8: STUN
 *       (a Binding response from our presence server; {@code StunCodec.looksLikeStun});
 *   <li>exactly 48 bytes starting with "q2qP" (0x71327150): a punch probe, handed to the punch whose
 *       tag is at bytes 8..16 ({@link org.q2q.client.internal.punch.PunchProbe#tag});
 *   <li>anything else (Vertex's "NAT!", strays): dropped.
 * </ol>
 * The three first bytes (0xD7, 0x00-0x3F, 0x71) never overlap, so the order is only for speed.
 */
package org.q2q.client.internal.punch;
