package org.q2q.server.internal.relay;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.q2q.certstore.Address;
import org.q2q.server.internal.metrics.ServerMetrics;
import org.q2q.server.internal.metrics.ServerMetrics.Refusal;
import org.q2q.server.presence.RelayStats;

/**
 * Relay limits, per address (concurrent streams, bytes in flight) and for the whole server (all
 * relay streams, streams whose caller is not known yet, bytes in flight), and the relay's
 * counters. The global caps bound what many addresses together can hold (one attacker with many
 * accounts); the per-address caps keep one address from taking the whole global share.
 * Bytes are "in flight" from the moment they are received from one side until they are handed to
 * the other side's transport. Safe for concurrent use.
 */
public final class RelayLimits {
  private static final class Usage {
    int streams;
    long bytes;
  }

  private final int maxStreams;
  private final long maxBytes;
  private final int maxTotalStreams;
  private final int maxAnonymousStreams;
  private final long maxTotalBytes;
  private final AtomicInteger totalStreams = new AtomicInteger();
  private final AtomicInteger anonymousStreams = new AtomicInteger();
  private final Map<Address, Usage> usage = new ConcurrentHashMap<>();
  private final AtomicInteger activeStreams = new AtomicInteger();
  private final AtomicLong splices = new AtomicLong();
  private final AtomicLong inFlight = new AtomicLong();
  private final AtomicLong highWater = new AtomicLong();
  private final AtomicLong relayed = new AtomicLong();
  private final ServerMetrics metrics;

  /** Per-address limits only (no global caps beyond what int and long hold). */
  public RelayLimits(int maxStreams, long maxBytes) {
    this(maxStreams, maxBytes, Integer.MAX_VALUE, Integer.MAX_VALUE, Long.MAX_VALUE, new ServerMetrics());
  }

  /**
   * @param maxStreams relay streams one address may hold (either role)
   * @param maxBytes bytes in flight one address may have
   * @param maxTotalStreams relay streams of all addresses together, once their caller is known
   * @param maxAnonymousStreams relay streams open before their caller and hello are known (TLS
   *     handshake, federation lookup, waiting for the hello), all callers together
   * @param maxTotalBytes bytes in flight of all addresses together
   * @param metrics counts the refusals
   */
  public RelayLimits(int maxStreams, long maxBytes, int maxTotalStreams, int maxAnonymousStreams,
      long maxTotalBytes, ServerMetrics metrics) {
    this.metrics = metrics;
    this.maxStreams = maxStreams;
    this.maxBytes = maxBytes;
    this.maxTotalStreams = maxTotalStreams;
    this.maxAnonymousStreams = maxAnonymousStreams;
    this.maxTotalBytes = maxTotalBytes;
  }

  /**
   * Counts one more stream whose caller is not known yet.
   *
   * @throws StatusRuntimeException RESOURCE_EXHAUSTED past the global cap
   */
  public void openAnonymous() {
    if (anonymousStreams.incrementAndGet() > maxAnonymousStreams) {
      anonymousStreams.decrementAndGet();
      metrics.refused(Refusal.RELAY_STREAMS_ANONYMOUS);
      throw Status.RESOURCE_EXHAUSTED
          .withDescription("the relay has " + maxAnonymousStreams + " streams waiting for their hello (the limit)")
          .asRuntimeException();
    }
  }

  /** Counts one stream whose caller is not known yet less (known now, or gone). */
  public void closeAnonymous() {
    anonymousStreams.decrementAndGet();
  }

  /**
   * Counts one more relay stream of {@code a}.
   *
   * @throws StatusRuntimeException RESOURCE_EXHAUSTED past the limit
   */
  public void openStream(Address a) {
    if (totalStreams.incrementAndGet() > maxTotalStreams) {
      totalStreams.decrementAndGet();
      metrics.refused(Refusal.RELAY_STREAMS_TOTAL);
      throw Status.RESOURCE_EXHAUSTED
          .withDescription("the relay has " + maxTotalStreams + " streams open (the server's limit)")
          .asRuntimeException();
    }
    boolean[] ok = new boolean[1];
    usage.compute(a, (k, u) -> {
      Usage v = u != null ? u : new Usage();
      if (v.streams < maxStreams) {
        v.streams++;
        ok[0] = true;
      }
      return v.streams == 0 && v.bytes == 0 ? null : v;
    });
    if (!ok[0]) {
      totalStreams.decrementAndGet();
      metrics.refused(Refusal.RELAY_STREAMS_PER_ADDRESS);
      throw Status.RESOURCE_EXHAUSTED
          .withDescription(a + " already has " + maxStreams + " relay streams open (the limit)")
          .asRuntimeException();
    }
  }

  /** Counts one relay stream of {@code a} less. */
  public void closeStream(Address a) {
    totalStreams.decrementAndGet();
    usage.computeIfPresent(a, (k, v) -> {
      v.streams--;
      return v.streams <= 0 && v.bytes <= 0 ? null : v;
    });
  }

  /**
   * Holds {@code n} more bytes in flight for {@code a}.
   *
   * @throws StatusRuntimeException RESOURCE_EXHAUSTED past the limit
   */
  public void hold(Address a, long n) {
    if (inFlight.addAndGet(n) > maxTotalBytes) {
      long now = inFlight.addAndGet(-n);
      throw Status.RESOURCE_EXHAUSTED
          .withDescription("the relay has " + now + " bytes in flight; " + n + " more would pass the server's limit of "
              + maxTotalBytes)
          .asRuntimeException();
    }
    boolean[] ok = new boolean[1];
    long[] had = new long[1];
    usage.compute(a, (k, u) -> {
      Usage v = u != null ? u : new Usage();
      had[0] = v.bytes;
      if (v.bytes + n <= maxBytes) {
        v.bytes += n;
        ok[0] = true;
      }
      return v.streams == 0 && v.bytes == 0 ? null : v;
    });
    if (!ok[0]) {
      inFlight.addAndGet(-n);
      throw Status.RESOURCE_EXHAUSTED
          .withDescription(a + " has " + had[0] + " relay bytes in flight; " + n + " more would pass the limit of "
              + maxBytes)
          .asRuntimeException();
    }
    highWater.accumulateAndGet(inFlight.get(), Math::max);
  }

  /**
   * Whether {@code a} may read more now: under its own in-flight cap and the global one. The relay
   * socket asks before reading, and then {@link #holdOver holds} what one read brought, so each
   * cap is passed by at most one read per direction.
   */
  public boolean mayHold(Address a) {
    if (inFlight.get() >= maxTotalBytes) {
      return false;
    }
    Usage u = usage.get(a);
    return u == null || u.bytes < maxBytes;
  }

  /** Holds {@code n} bytes in flight for {@code a} without a check (see {@link #mayHold}). */
  public void holdOver(Address a, long n) {
    usage.compute(a, (k, u) -> {
      Usage v = u != null ? u : new Usage();
      v.bytes += n;
      return v;
    });
    highWater.accumulateAndGet(inFlight.addAndGet(n), Math::max);
  }

  /** Releases {@code n} bytes in flight of {@code a}. */
  public void release(Address a, long n) {
    if (n == 0) {
      return;
    }
    usage.computeIfPresent(a, (k, v) -> {
      v.bytes -= n;
      return v.streams <= 0 && v.bytes <= 0 ? null : v;
    });
    inFlight.addAndGet(-n);
  }

  void streamStarted() {
    activeStreams.incrementAndGet();
  }

  void streamEnded() {
    activeStreams.decrementAndGet();
  }

  void spliced() {
    splices.incrementAndGet();
  }

  void relayed(long n) {
    relayed.addAndGet(n);
  }

  /** The bytes in flight of {@code a} now (tests). */
  public long bytesInFlight(Address a) {
    Usage u = usage.get(a);
    return u == null ? 0 : u.bytes;
  }

  /** Streams whose caller is not known yet (tests). */
  public int anonymousStreams() {
    return anonymousStreams.get();
  }

  /** A snapshot of the counters. */
  public RelayStats stats() {
    return new RelayStats(activeStreams.get(), splices.get(), inFlight.get(), highWater.get(), relayed.get());
  }
}
