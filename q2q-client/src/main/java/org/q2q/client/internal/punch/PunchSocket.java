package org.q2q.client.internal.punch;

import io.netty.buffer.ByteBuf;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Collection;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.q2q.ptcp.netty.PtcpSocket;
import org.q2q.ptcp.netty.RawDatagramHandler;
import org.q2q.stun.StunCodec;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The non-PTCP side of a client's one UDP socket: installs itself as the {@link PtcpSocket}'s raw
 * datagram handler and sorts what PTCP did not take by the rule in the package docs: STUN answers
 * to {@link #reflexiveAddress}, probes to the punch with their tag ({@link #punch}), the rest
 * dropped and counted. Safe for concurrent use (work runs on the socket's event loop).
 */
public final class PunchSocket implements RawDatagramHandler {
  private static final Logger log = LoggerFactory.getLogger(PunchSocket.class);

  private final PtcpSocket socket;
  private final StunClient stun;
  private final Puncher puncher;
  private final AtomicLong strays = new AtomicLong();

  private PunchSocket(PtcpSocket socket) {
    this.socket = socket;
    this.stun = new StunClient(socket);
    this.puncher = new Puncher(socket);
  }

  /** Takes over {@code socket}'s raw datagrams (replacing any handler set before). */
  public static PunchSocket on(PtcpSocket socket) {
    PunchSocket s = new PunchSocket(socket);
    socket.rawDatagramHandler(s);
    return s;
  }

  /** The socket. */
  public PtcpSocket socket() {
    return socket;
  }

  /**
   * Asks {@code stunServer} (the presence server's host and {@code udpPort}) for this socket's
   * reflexive address: the NAT mapping, or the socket's own address where there is no NAT. Fails
   * with an IOException after {@code timeout} (e.g. a server without UDP, or UDP filtered).
   */
  public CompletableFuture<InetSocketAddress> reflexiveAddress(InetSocketAddress stunServer, Duration timeout) {
    return stun.query(stunServer, timeout);
  }

  /**
   * Punches toward {@code remote} (the peer's candidates) for the Inbound of {@code listenerId};
   * completes with the peer's address that answered (the PTCP path), or fails with an IOException
   * naming the candidates once {@code schedule} is over. Start it on the listener when the
   * BindUdpQuery arrives and on the connector when BindUdp returns. Cancel the future to stop.
   *
   * @param local our own candidates (never probed)
   * @param events each round, learned address, result (for {@code -v}); called on the event loop
   */
  public CompletableFuture<InetSocketAddress> punch(HolePunch.Role role, String listenerId,
      Collection<InetSocketAddress> remote, Collection<InetSocketAddress> local, HolePunch.Schedule schedule,
      Consumer<HolePunch.Event> events) {
    return puncher.punch(role, listenerId, remote, local, schedule, events);
  }

  /** Datagrams that were neither PTCP, a STUN answer nor a probe of a running punch. */
  public long strays() {
    return strays.get();
  }

  /** Punches running or lingering (tests); blocks briefly on the event loop. */
  int punches() {
    return socket.eventLoop().submit(puncher::size).syncUninterruptibly().getNow();
  }

  /** {@inheritDoc} Called by the socket on its event loop; {@code content} is not kept. */
  @Override
  public void onDatagram(InetSocketAddress sender, ByteBuf content) {
    ByteBuffer in = content.nioBuffer(content.readerIndex(), content.readableBytes());
    if (StunCodec.looksLikeStun(in)) {
      stun.onDatagram(sender, in);
    } else if (!PunchProbe.looksLikeProbe(in) || !puncher.onDatagram(sender, in)) {
      strays.incrementAndGet();
      if (log.isTraceEnabled()) {
        log.trace("udp {}: dropped a stray datagram of {} B from {}", socket.localAddress(), in.remaining(), sender);
      }
    }
  }
}
