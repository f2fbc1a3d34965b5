/**
 * Netty adapter for PTCP: {@link org.q2q.ptcp.netty.PtcpSocket} drives the sans-IO core on a UDP
 * {@code DatagramChannel}'s event loop and exposes each connection as a Netty
 * {@link io.netty.channel.Channel} (a {@link io.netty.channel.socket.DuplexChannel}) and, for blocking
 * code, as a {@link org.q2q.ptcp.netty.PtcpStream}.
 */
package org.q2q.ptcp.netty;
