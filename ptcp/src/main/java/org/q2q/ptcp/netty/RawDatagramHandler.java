package org.q2q.ptcp.netty;

import io.netty.buffer.ByteBuf;
import java.net.InetSocketAddress;

/**
 * Receives datagrams arriving on a {@link PtcpSocket} that are not PTCP (e.g. STUN answers or hole
 * punching probes). Called on the socket's event loop.
 */
@FunctionalInterface
public interface RawDatagramHandler {
  /**
   * Handles one datagram. {@code content} is released by the socket after this method returns; retain
   * or copy it to keep it.
   */
  void onDatagram(InetSocketAddress sender, ByteBuf content);
}
