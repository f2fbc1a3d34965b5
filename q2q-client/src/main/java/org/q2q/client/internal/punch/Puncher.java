package org.q2q.client.internal.punch;

import io.netty.buffer.Unpooled;
import io.netty.channel.EventLoop;
import io.netty.util.concurrent.ScheduledFuture;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.security.SecureRandom;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.q2q.ptcp.netty.PtcpSocket;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs {@link HolePunch} state machines on a PTCP socket's event loop: sends their probes from the
 * socket, feeds them the probes that carry their tag, fires their timers, and completes each one's
 * future with the path (or an IOException once its schedule is over). A punched one keeps
 * answering the peer's probes for {@link #LINGER_MILLIS} (the peer may not have its ACK yet).
 * At most {@link #MAX_PUNCHES} at once. Thread-safety: {@link #punch} from any thread; the rest
 * runs on the event loop.
 */
final class Puncher {
  private static final Logger log = LoggerFactory.getLogger(Puncher.class);
  /** Punches running (or lingering) at once, at most. */
  static final int MAX_PUNCHES = 64;
  /** How long a punched state machine keeps answering the peer's probes. */
  static final long LINGER_MILLIS = 2000;

  private final PtcpSocket socket;
  private final EventLoop loop;
  private final SecureRandom random = new SecureRandom();
  private final long epoch = System.nanoTime();
  /** By tag. Event-loop only. */
  private final Map<Long, Running> running = new HashMap<>();

  private final class Running {
    final HolePunch punch;
    final String logId;
    final CompletableFuture<InetSocketAddress> result;
    final Consumer<HolePunch.Event> listener;
    ScheduledFuture<?> timer;

    Running(HolePunch punch, String logId, CompletableFuture<InetSocketAddress> result,
        Consumer<HolePunch.Event> listener) {
      this.punch = punch;
      this.logId = logId;
      this.result = result;
      this.listener = listener;
    }
  }

  Puncher(PtcpSocket socket) {
    this.socket = socket;
    this.loop = socket.eventLoop();
  }

  private long now() {
    return System.nanoTime() - epoch;
  }

  /** See {@link PunchSocket#punch}. */
  CompletableFuture<InetSocketAddress> punch(HolePunch.Role role, String listenerId, Collection<InetSocketAddress> remote,
      Collection<InetSocketAddress> local, HolePunch.Schedule schedule, Consumer<HolePunch.Event> listener) {
    CompletableFuture<InetSocketAddress> result = new CompletableFuture<>();
    PunchKey key = new PunchKey(listenerId);
    String logId = "punch " + (listenerId.length() > 8 ? listenerId.substring(0, 8) : listenerId);
    HolePunch p = new HolePunch(role, key, remote, local, schedule, random);
    loop.execute(() -> {
      if (running.size() >= MAX_PUNCHES) {
        result.completeExceptionally(new IOException(MAX_PUNCHES + " hole punches are already running"));
        return;
      }
      if (running.containsKey(p.tag())) {
        result.completeExceptionally(new IOException("a hole punch for this listener id is already running"));
        return;
      }
      if (p.candidates().isEmpty()) {
        result.completeExceptionally(new IOException("no UDP candidates to punch toward"));
        return;
      }
      Running r = new Running(p, logId, result, listener == null ? e -> {} : listener);
      running.put(p.tag(), r);
      result.whenComplete((a, e) -> {
        if (e != null) { // failed or cancelled: forget it now (a success lingers)
          loop.execute(() -> remove(r));
        }
      });
      log.debug("{}: {} toward {} (ours {})", logId, role, p.candidates(), local);
      p.start(now());
      pump(r);
    });
    return result;
  }

  /** A probe-shaped datagram from {@code sender}; false if no punch has its tag. Event-loop only. */
  boolean onDatagram(InetSocketAddress sender, ByteBuffer in) {
    Running r = running.get(PunchProbe.tag(in));
    if (r == null) {
      return false;
    }
    r.punch.handleDatagram(now(), sender, in);
    pump(r);
    return true;
  }

  private void pump(Running r) {
    HolePunch.Transmit t;
    while ((t = r.punch.pollTransmit()) != null) {
      socket.sendDatagram(t.destination(), Unpooled.wrappedBuffer(t.datagram()));
    }
    HolePunch.Event e;
    while ((e = r.punch.pollEvent()) != null) {
      log.debug("{}: {} round {} {} {}", r.logId, e.type(), e.round(), e.address() == null ? "" : e.address(),
          e.count());
      try {
        r.listener.accept(e);
      } catch (RuntimeException ex) {
        log.warn("{}: punch listener failed", r.logId, ex);
      }
    }
    switch (r.punch.state()) {
      case PUNCHED -> {
        if (r.result.complete(r.punch.path())) {
          if (r.timer != null) {
            r.timer.cancel(false);
          }
          r.timer = loop.schedule(() -> remove(r), LINGER_MILLIS, TimeUnit.MILLISECONDS);
        }
      }
      case FAILED -> {
        List<InetSocketAddress> tried = r.punch.candidates();
        r.result.completeExceptionally(new IOException("hole punching found no path: no authenticated answer from "
            + tried + " in " + r.punch.rounds() + " rounds"));
        remove(r);
      }
      default -> arm(r);
    }
  }

  private void arm(Running r) {
    OptionalLong t = r.punch.pollTimeout();
    if (t.isEmpty()) {
      return;
    }
    if (r.timer != null) {
      r.timer.cancel(false);
    }
    r.timer = loop.schedule(() -> {
      r.punch.handleTimeout(now());
      pump(r);
    }, Math.max(0, t.getAsLong() - now()), TimeUnit.NANOSECONDS);
  }

  private void remove(Running r) {
    if (running.remove(r.punch.tag(), r) && r.timer != null) {
      r.timer.cancel(false);
    }
  }

  /** Punches running or lingering (tests). Event-loop only. */
  int size() {
    return running.size();
  }
}
