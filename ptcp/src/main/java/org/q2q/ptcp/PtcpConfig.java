package org.q2q.ptcp;

import java.time.Duration;

/**
 * Immutable PTCP tunables. Build with {@link #builder()}; every setting has a sensible default.
 * Times are stored in nanoseconds, sizes in bytes. Safe for concurrent use.
 */
public final class PtcpConfig {
  /** Congestion-control algorithm choice. */
  public enum Congestion {
    /** RFC 5681/6582 NewReno. */
    NEW_RENO,
    /** RFC 9438 CUBIC. */
    CUBIC,
    /** Simplified BBR v1 (model-based: random loss does not shrink the window). */
    BBR
  }

  final long initialRto;
  final long minRto;
  final long maxRto;
  final long connectTimeout;
  final long idleTimeout;
  final long keepaliveInterval;
  final long timeWait;
  final long delayedAck;
  final int initialDatagramSize;
  final int maxDatagramSize;
  final int minDatagramSize;
  final boolean mtuProbing;
  final boolean linkMtuProbing;
  final int sendBufferSize;
  final int receiveBufferSize;
  final int initialWindowSegments;
  final Congestion congestion;
  final boolean pacing;
  final int resetsPerSecond;
  final Long initialSequenceNumber;
  final int ackEveryFullSegments;

  private PtcpConfig(Builder b) {
    initialRto = b.initialRto;
    minRto = b.minRto;
    maxRto = b.maxRto;
    connectTimeout = b.connectTimeout;
    idleTimeout = b.idleTimeout;
    keepaliveInterval = b.keepaliveInterval;
    timeWait = b.timeWait;
    delayedAck = b.delayedAck;
    initialDatagramSize = b.initialDatagramSize;
    maxDatagramSize = b.maxDatagramSize;
    minDatagramSize = b.minDatagramSize;
    mtuProbing = b.mtuProbing;
    linkMtuProbing = b.linkMtuProbing;
    sendBufferSize = b.sendBufferSize;
    receiveBufferSize = b.receiveBufferSize;
    initialWindowSegments = b.initialWindowSegments;
    congestion = b.congestion;
    pacing = b.pacing;
    resetsPerSecond = b.resetsPerSecond;
    initialSequenceNumber = b.initialSequenceNumber;
    ackEveryFullSegments = b.ackEveryFullSegments;
  }

  /** A builder with the defaults. */
  public static Builder builder() {
    return new Builder();
  }

  /** The defaults. */
  public static PtcpConfig defaults() {
    return builder().build();
  }

  /** A builder initialised from this config. */
  public Builder toBuilder() {
    Builder b = new Builder();
    b.initialRto = initialRto;
    b.minRto = minRto;
    b.maxRto = maxRto;
    b.connectTimeout = connectTimeout;
    b.idleTimeout = idleTimeout;
    b.keepaliveInterval = keepaliveInterval;
    b.timeWait = timeWait;
    b.delayedAck = delayedAck;
    b.initialDatagramSize = initialDatagramSize;
    b.maxDatagramSize = maxDatagramSize;
    b.minDatagramSize = minDatagramSize;
    b.mtuProbing = mtuProbing;
    b.linkMtuProbing = linkMtuProbing;
    b.sendBufferSize = sendBufferSize;
    b.receiveBufferSize = receiveBufferSize;
    b.initialWindowSegments = initialWindowSegments;
    b.congestion = congestion;
    b.pacing = pacing;
    b.resetsPerSecond = resetsPerSecond;
    b.initialSequenceNumber = initialSequenceNumber;
    b.ackEveryFullSegments = ackEveryFullSegments;
    return b;
  }

  /** Initial RTO before any RTT sample (also the first SYN retry interval), ns. */
  public long initialRtoNanos() {
    return initialRto;
  }

  /** Minimum RTO, ns. */
  public long minRtoNanos() {
    return minRto;
  }

  /** Maximum RTO after backoff, ns. */
  public long maxRtoNanos() {
    return maxRto;
  }

  /** Connect (handshake) timeout, ns. */
  public long connectTimeoutNanos() {
    return connectTimeout;
  }

  /** Idle timeout, ns. */
  public long idleTimeoutNanos() {
    return idleTimeout;
  }

  /** Keepalive interval, ns. */
  public long keepaliveIntervalNanos() {
    return keepaliveInterval;
  }

  /** TIME_WAIT duration, ns. */
  public long timeWaitNanos() {
    return timeWait;
  }

  /** Maximum delay of an acknowledgement, ns. */
  public long delayedAckNanos() {
    return delayedAck;
  }

  /** Datagram size used before probing, bytes. */
  public int initialDatagramSize() {
    return initialDatagramSize;
  }

  /** Largest datagram sent or accepted, bytes. */
  public int maxDatagramSize() {
    return maxDatagramSize;
  }

  /** Smallest datagram size the path may force, bytes. */
  public int minDatagramSize() {
    return minDatagramSize;
  }

  /** Whether to probe for larger datagrams. */
  public boolean mtuProbing() {
    return mtuProbing;
  }

  /**
   * Whether a peer on this host or on a directly attached link may use datagrams up to that link's
   * MTU (as the endpoint's link-MTU function reports it) instead of {@link #maxDatagramSize()}.
   */
  public boolean linkMtuProbing() {
    return linkMtuProbing;
  }

  /** Per-connection send buffer, bytes. */
  public int sendBufferSize() {
    return sendBufferSize;
  }

  /** Per-connection receive buffer (and maximum advertised window), bytes. */
  public int receiveBufferSize() {
    return receiveBufferSize;
  }

  /** Initial congestion window, segments. */
  public int initialWindowSegments() {
    return initialWindowSegments;
  }

  /** Congestion controller. */
  public Congestion congestion() {
    return congestion;
  }

  /** Whether pacing is on. */
  public boolean pacing() {
    return pacing;
  }

  /** RST/STB answers per second the endpoint may send. */
  public int resetsPerSecond() {
    return resetsPerSecond;
  }

  /** Fixed initial sequence number for tests, or null for random. */
  public Long initialSequenceNumber() {
    return initialSequenceNumber;
  }

  /** Acknowledge at least every this many full-size segments. */
  public int ackEveryFullSegments() {
    return ackEveryFullSegments;
  }

  /** Builder for {@link PtcpConfig}. Not thread-safe. */
  public static final class Builder {
    private long initialRto = 1_000_000_000L;
    private long minRto = 200_000_000L;
    private long maxRto = 60_000_000_000L;
    private long connectTimeout = 10_000_000_000L;
    private long idleTimeout = 30_000_000_000L;
    private long keepaliveInterval = 10_000_000_000L;
    private long timeWait = 15_000_000_000L;
    private long delayedAck = 10_000_000L;
    private int initialDatagramSize = 1200;
    private int maxDatagramSize = 1452;
    private int minDatagramSize = 128;
    private boolean mtuProbing = true;
    private boolean linkMtuProbing = true;
    private int sendBufferSize = 4 << 20;
    private int receiveBufferSize = 4 << 20;
    private int initialWindowSegments = 10;
    private Congestion congestion = Congestion.BBR;
    private boolean pacing = true;
    private int resetsPerSecond = 20;
    private Long initialSequenceNumber;
    private int ackEveryFullSegments = 2;

    private Builder() {}

    private static long ns(Duration d) {
      if (d.isNegative() || d.isZero()) {
        throw new IllegalArgumentException("duration must be positive: " + d);
      }
      return d.toNanos();
    }

    /** Initial RTO (RFC 6298: 1 s). */
    public Builder initialRto(Duration d) {
      initialRto = ns(d);
      return this;
    }

    /** Minimum RTO (default 200 ms). */
    public Builder minRto(Duration d) {
      minRto = ns(d);
      return this;
    }

    /** Maximum RTO (default 60 s). */
    public Builder maxRto(Duration d) {
      maxRto = ns(d);
      return this;
    }

    /** Connect timeout (default 10 s). */
    public Builder connectTimeout(Duration d) {
      connectTimeout = ns(d);
      return this;
    }

    /** Idle timeout (default 30 s). */
    public Builder idleTimeout(Duration d) {
      idleTimeout = ns(d);
      return this;
    }

    /** Keepalive interval (default 10 s); should be under half the idle timeout. */
    public Builder keepaliveInterval(Duration d) {
      keepaliveInterval = ns(d);
      return this;
    }

    /** TIME_WAIT duration (default 15 s; the record is small: no buffers are kept). */
    public Builder timeWait(Duration d) {
      timeWait = ns(d);
      return this;
    }

    /** Maximum ACK delay (default 10 ms). */
    public Builder delayedAck(Duration d) {
      delayedAck = ns(d);
      return this;
    }

    /** Datagram sizes: initial (default 1200), maximum (default 1452), minimum (default 128). */
    public Builder datagramSizes(int initial, int max, int min) {
      if (min < 96 || initial < min || max < initial || max > 65507) {
        throw new IllegalArgumentException("bad datagram sizes " + initial + "/" + max + "/" + min);
      }
      initialDatagramSize = initial;
      maxDatagramSize = max;
      minDatagramSize = min;
      return this;
    }

    /** Whether to probe for larger datagrams (default true). */
    public Builder mtuProbing(boolean on) {
      mtuProbing = on;
      return this;
    }

    /**
     * Whether peers on this host or a directly attached link may probe up to the local link's MTU
     * (up to 65,507 bytes on loopback) rather than the maximum datagram size (default true). RFC 8899
     * bounds the search by the local interface MTU; routed paths keep {@link #datagramSizes}'s maximum,
     * which suits the Internet's 1,500-byte links.
     */
    public Builder linkMtuProbing(boolean on) {
      linkMtuProbing = on;
      return this;
    }

    /** Send buffer per connection (default 4 MiB). */
    public Builder sendBufferSize(int bytes) {
      sendBufferSize = Math.max(4096, bytes);
      return this;
    }

    /** Receive buffer per connection (default 4 MiB, at most 1 GiB). */
    public Builder receiveBufferSize(int bytes) {
      receiveBufferSize = Math.max(4096, Math.min(bytes, 1 << 30));
      return this;
    }

    /** Initial congestion window in segments (default 10). */
    public Builder initialWindowSegments(int n) {
      initialWindowSegments = Math.max(1, n);
      return this;
    }

    /** Congestion controller (default BBR, like this platform's kernel TCP; CUBIC and NewReno available). */
    public Builder congestion(Congestion c) {
      congestion = c;
      return this;
    }

    /** Pacing on or off (default on). */
    public Builder pacing(boolean on) {
      pacing = on;
      return this;
    }

    /** RST/STB answers per second (default 20). */
    public Builder resetsPerSecond(int n) {
      resetsPerSecond = Math.max(1, n);
      return this;
    }

    /** Fixes the initial sequence number (tests only; e.g. near 2^32 to exercise wraparound). */
    public Builder initialSequenceNumber(long isn) {
      initialSequenceNumber = isn & 0xffffffffL;
      return this;
    }

    /** Acknowledge at least every n full-size segments (default 2). */
    public Builder ackEveryFullSegments(int n) {
      ackEveryFullSegments = Math.max(1, n);
      return this;
    }

    /** Builds the config. */
    public PtcpConfig build() {
      return new PtcpConfig(this);
    }
  }
}
