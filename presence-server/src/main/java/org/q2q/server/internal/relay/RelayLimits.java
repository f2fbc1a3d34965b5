package org.q2q.server.internal.relay;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.q2q.certstore.Address;
import org.q2q.server.presence.RelayStats;

/**
 * Per-address relay limits (concurrent streams, bytes in flight) and the relay's global counters.
 * Bytes are "in flight" from the moment a data frame is received from one side until it is handed
 * to the other side's transport (which happens only while that transport is ready). Safe for
 * concurrent use.
 */
public final class RelayLimits {
  private static final class Usage {
    int streams;
    long bytes;
  }

  private final int maxStreams;
  private final long maxBytes;
  private final Map<Address, Usage> usage = new ConcurrentHashMap<>();
  private final AtomicInteger activeStreams = new AtomicInteger();
  private final AtomicLong splices = new AtomicLong();
  private final AtomicLong inFlight = new AtomicLong();
  private final AtomicLong highWater = new AtomicLong();
  private final AtomicLong relayed = new AtomicLong();

  public RelayLimits(int maxStreams, long maxBytes) {
    this.maxStreams = maxStreams;
    this.maxBytes = maxBytes;
  }

  /**
   * Counts one more relay stream of {@code a}.
   *
   * @throws StatusRuntimeException RESOURCE_EXHAUSTED past the limit
   */
  public void openStream(Address a) {
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
      throw Status.RESOURCE_EXHAUSTED
          .withDescription(a + " already has " + maxStreams + " relay streams open (the limit)")
          .asRuntimeException();
    }
  }

  /** Counts one relay stream of {@code a} less. */
  public void closeStream(Address a) {
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
      throw Status.RESOURCE_EXHAUSTED
          .withDescription(a + " has " + had[0] + " relay bytes in flight; " + n + " more would pass the limit of "
              + maxBytes)
          .asRuntimeException();
    }
    long now = inFlight.addAndGet(n);
    highWater.accumulateAndGet(now, Math::max);
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

  /** A snapshot of the counters. */
  public RelayStats stats() {
    return new RelayStats(activeStreams.get(), splices.get(), inFlight.get(), highWater.get(), relayed.get());
  }
}
