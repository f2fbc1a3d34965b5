package org.q2q.client.internal.punch;

import io.netty.buffer.Unpooled;
import io.netty.channel.EventLoop;
import io.netty.util.concurrent.ScheduledFuture;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.q2q.ptcp.netty.PtcpSocket;
import org.q2q.stun.StunCodec;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Asks a STUN server (our presence server's UDP port) for the reflexive address of the PTCP
 * socket, from that very socket, so the answer is the NAT mapping PTCP and the probes will use.
 * Requests are re-sent 250, 500, 1000... ms apart (RFC 8489's doubling) until the timeout; the
 * answer must carry the transaction id and come from the server asked. At most {@link
 * #MAX_PENDING} queries at once. Thread-safety: {@link #query} from any thread; the rest runs on
 * the socket's event loop.
 */
final class StunClient {
  private static final Logger log = LoggerFactory.getLogger(StunClient.class);
  /** Queries in flight at once, at most. */
  static final int MAX_PENDING = 16;
  private static final long FIRST_RTO_MILLIS = 250;

  private final PtcpSocket socket;
  private final EventLoop loop;
  private final SecureRandom random = new SecureRandom();
  /** In-flight queries by transaction id (hex). Event-loop only. */
  private final Map<String, Pending> pending = new HashMap<>();

  private static final class Pending {
    final InetSocketAddress server;
    final byte[] request;
    final CompletableFuture<InetSocketAddress> result;
    final long deadlineNanos;
    long rtoMillis = FIRST_RTO_MILLIS;
    ScheduledFuture<?> timer;

    Pending(InetSocketAddress server, byte[] request, CompletableFuture<InetSocketAddress> result, long deadlineNanos) {
      this.server = server;
      this.request = request;
      this.result = result;
      this.deadlineNanos = deadlineNanos;
    }
  }

  StunClient(PtcpSocket socket) {
    this.socket = socket;
    this.loop = socket.eventLoop();
  }

  /** The reflexive address {@code server} sees for the socket; fails with an IOException after {@code timeout}. */
  CompletableFuture<InetSocketAddress> query(InetSocketAddress server, Duration timeout) {
    CompletableFuture<InetSocketAddress> result = new CompletableFuture<>();
    loop.execute(() -> {
      if (pending.size() >= MAX_PENDING) {
        result.completeExceptionally(new IOException(MAX_PENDING + " STUN queries are already in flight"));
        return;
      }
      byte[] tx = new byte[StunCodec.TRANSACTION_ID_BYTES];
      random.nextBytes(tx);
      String id = HexFormat.of().formatHex(tx);
      Pending p = new Pending(server, StunCodec.bindingRequest(tx), result, System.nanoTime() + timeout.toNanos());
      pending.put(id, p);
      result.whenComplete((a, e) -> loop.execute(() -> {
        pending.remove(id, p);
        if (p.timer != null) {
          p.timer.cancel(false);
        }
      }));
      log.debug("stun {}: asking {} for our reflexive address", id, server);
      send(id, p);
    });
    return result;
  }

  private void send(String id, Pending p) {
    if (p.result.isDone()) {
      return;
    }
    long left = p.deadlineNanos - System.nanoTime();
    if (left <= 0) {
      p.result.completeExceptionally(new IOException("no STUN answer from " + p.server + " (timed out)"));
      return;
    }
    socket.sendDatagram(p.server, Unpooled.wrappedBuffer(p.request));
    long wait = Math.min(p.rtoMillis, TimeUnit.NANOSECONDS.toMillis(left) + 1);
    p.rtoMillis *= 2;
    p.timer = loop.schedule(() -> send(id, p), wait, TimeUnit.MILLISECONDS);
  }

  /** A STUN datagram from {@code sender} (between position and limit). Event-loop only. */
  void onDatagram(InetSocketAddress sender, ByteBuffer in) {
    StunCodec.BindingSuccess s = StunCodec.readBindingSuccess(in);
    if (s == null) {
      log.debug("stun: dropped a STUN datagram from {} that is not a Binding success", sender);
      return;
    }
    String id = HexFormat.of().formatHex(s.transactionId());
    Pending p = pending.get(id);
    if (p == null || !p.server.equals(sender)) {
      log.debug("stun {}: dropped an answer from {} to no query of ours", id, sender);
      return;
    }
    log.debug("stun {}: {} sees us as {}", id, sender, s.mapped());
    p.result.complete(s.mapped());
  }
}
