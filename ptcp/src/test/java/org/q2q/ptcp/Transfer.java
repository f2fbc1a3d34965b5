package org.q2q.ptcp;

import java.nio.ByteBuffer;

/**
 * Application logic for simulated transfers: side A sends {@code size} pattern bytes then closes its
 * output; side B checks every byte against the pattern (exactly once, in order) and closes when it
 * sees end of stream. Optionally B sends {@code reply} bytes back. Records when each side finished.
 */
final class Transfer {
  final SimNetwork net;
  final long size;
  final long replySize;
  PtcpConnection client;
  PtcpConnection server;
  long sent;
  long received;
  long replySent;
  long replyReceived;
  boolean serverEof;
  boolean clientEof;
  long mismatchAt = -1;
  long clientClosedAt = -1;
  long serverClosedAt = -1;
  PtcpException clientError;
  PtcpException serverError;
  private final ByteBuffer wbuf = ByteBuffer.allocate(64 * 1024);
  private final ByteBuffer rbuf = ByteBuffer.allocate(64 * 1024);
  private int clientEvents;
  private int serverEvents;

  Transfer(SimNetwork net, long size, long replySize) {
    this.net = net;
    this.size = size;
    this.replySize = replySize;
    client = net.connect();
    net.onStep(n -> pump());
  }

  static byte pattern(long i) {
    long x = i * 0x9E3779B97F4A7C15L;
    return (byte) ((x >>> 56) ^ (i >>> 10));
  }

  private void pump() {
    for (; clientEvents < net.events[0].size(); clientEvents++) {
      PtcpEvent e = net.events[0].get(clientEvents);
      if (e.type() == PtcpEvent.Type.CLOSED && e.connection() == client && clientClosedAt < 0) {
        clientClosedAt = net.now;
        clientError = e.error();
      }
    }
    for (; serverEvents < net.events[1].size(); serverEvents++) {
      PtcpEvent e = net.events[1].get(serverEvents);
      if (e.type() == PtcpEvent.Type.ACCEPTED && server == null) {
        server = e.connection();
      }
      if (e.type() == PtcpEvent.Type.CLOSED && e.connection() == server && serverClosedAt < 0) {
        serverClosedAt = net.now;
        serverError = e.error();
      }
    }
    if (client.state() != PtcpState.SYN_SENT && !client.isClosed()) {
      sent = writePattern(client, sent, size);
      if (sent == size && !client.isOutputShutdown()) {
        client.shutdownOutput();
      }
    }
    if (client.state() != PtcpState.SYN_SENT) {
      replyReceived = readCheck(client, replyReceived, true);
    }
    if (server != null) {
      received = readCheck(server, received, false);
    }
    if (server != null && !server.isClosed()) {
      if (replySize > 0 && !server.isOutputShutdown()) {
        replySent = writePattern(server, replySent, replySize);
      }
      if (serverEof && (replySize == 0 || replySent == replySize) && !server.isOutputShutdown()) {
        server.shutdownOutput();
      }
    }
  }

  private long writePattern(PtcpConnection c, long pos, long total) {
    while (pos < total && c.writableBytes() > 0) {
      wbuf.clear();
      // Generate only what the connection accepts now: the pattern loop, not the core, used to
      // dominate simulated runs (a full 64 KiB regenerated on every step that freed a few bytes).
      int n = (int) Math.min(Math.min(wbuf.capacity(), total - pos), c.writableBytes());
      for (int i = 0; i < n; i++) {
        wbuf.put(pattern(pos + i));
      }
      wbuf.flip();
      int w = c.write(wbuf);
      pos += w;
      if (w < n) {
        break;
      }
    }
    return pos;
  }

  private long readCheck(PtcpConnection c, long pos, boolean clientSide) {
    while (true) {
      rbuf.clear();
      int n = c.read(rbuf);
      if (n < 0) {
        if (clientSide) {
          clientEof = true;
        } else {
          serverEof = true;
        }
        return pos;
      }
      if (n == 0) {
        return pos;
      }
      rbuf.flip();
      for (int i = 0; i < n; i++) {
        if (rbuf.get(i) != pattern(pos + i) && mismatchAt < 0) {
          mismatchAt = pos + i;
        }
      }
      pos += n;
    }
  }

  /** Whether both sides finished cleanly with all bytes delivered, each at its right offset. */
  boolean completed() {
    return serverEof && received == size && mismatchAt < 0 && clientClosedAt >= 0 && serverClosedAt >= 0
        && clientError == null && serverError == null && (replySize == 0 || replyReceived == replySize);
  }

  /** Whether both sides ended (cleanly or not). */
  boolean bothEnded() {
    return clientClosedAt >= 0 && serverClosedAt >= 0;
  }

  @Override
  public String toString() {
    return "Transfer[size=" + size + " sent=" + sent + " received=" + received + " eof=" + serverEof
        + " mismatch=" + mismatchAt + " clientClosed=" + clientClosedAt + "/" + clientError
        + " serverClosed=" + serverClosedAt + "/" + serverError + " now=" + net.now
        + " client=" + client + " cwnd=" + client.congestionWindow() + " dgram="
        + client.datagramSize() + " rto=" + client.rtoNanos() + " retx=" + client.segmentsRetransmitted()
        + "/" + client.segmentsSent() + "]";
  }
}
