package org.q2q.client.internal.peer;

import java.time.Clock;
import java.time.Duration;
import java.util.Objects;
import org.q2q.certstore.Address;
import org.q2q.certstore.AddressTrustManager.CaResolver;
import org.q2q.certstore.Identity;
import org.q2q.client.Route;

/**
 * Everything a {@link PeerSession} needs: who we are, whom we trust, our role, and the limits of
 * the multiplexer. Immutable; build with {@link #builder(Identity, CaResolver, PeerRole)}.
 *
 * <p>Flow-control settings (per channel, receiving side): the receiver chokes a channel when its
 * unconsumed bytes reach {@link #receiveHighWaterMark()} and unchokes once they drop to {@link
 * #receiveLowWaterMark()}. Bytes in flight when the choke is sent still arrive, so a sender is
 * allowed {@link #overrunAllowance()} bytes beyond the high mark; more resets the channel with
 * {@code FLOW_CONTROL_ERROR}. The allowance is announced to the peer as the channel's {@code
 * receive_budget}; a sender keeps its unacknowledged bytes within the smallest budget announced
 * (acknowledged by Ping/Pong, see {@link SendWindow}), so it also bounds a session's throughput to
 * one allowance per round trip, hence its generous default of 4 MiB. A channel thus buffers at most
 * high mark + allowance + one 64 KiB frame.
 */
public final class PeerSessionConfig {
  /** Default largest frame accepted (the length prefix's value), 1 MiB. */
  public static final int DEFAULT_MAX_FRAME_SIZE = 1 << 20;
  /**
   * Default data chunk, 64 KiB: a quarter of the frames (and of the per-frame CPU) of 16 KiB chunks,
   * and still fair between channels (64 KiB is half a millisecond at 1 Gbit/s).
   */
  public static final int DEFAULT_CHUNK_SIZE = 64 * 1024;
  /** Largest chunk the protocol allows per data frame (peer.proto: at most 64 KiB). */
  public static final int MAX_CHUNK_SIZE = 64 * 1024;
  /** Default most channels the peer may have open at once in one session, 256. */
  public static final int DEFAULT_MAX_REMOTE_CHANNELS = 256;
  /**
   * Default memory all channels of a session may hold received and undelivered, 96 MiB: above what
   * a compliant peer can make its {@value #DEFAULT_MAX_REMOTE_CHANNELS} channels hold with the
   * default marks (each choked at 256 KiB, plus the 4 MiB send window and a frame tail each), so
   * only a peer ignoring chokes meets it; without it such a peer could fill 256 channels up to
   * their FLOW_CONTROL_ERROR limit, about 1.1 GiB.
   */
  public static final long DEFAULT_SESSION_RECEIVE_BUDGET = 96L << 20;
  /** Default time a blocking write may wait without any progress, 60 s. */
  public static final Duration DEFAULT_WRITE_STALL_TIMEOUT = Duration.ofSeconds(60);

  private final Identity identity;
  private final CaResolver caResolver;
  private final PeerRole role;
  private final Address expectedPeer;
  private final String listenerId;
  private final ChannelAcceptor acceptor;
  private final Clock clock;
  private final Route route;
  private final ListenerIdCheck listenerIdCheck;
  private final Duration unusedTimeout;
  private final Duration handshakeTimeout;
  private final Duration heartbeatInterval;
  private final Duration idleTimeout;
  private final int receiveHighWaterMark;
  private final int receiveLowWaterMark;
  private final int overrunAllowance;
  private final int maxFrameSize;
  private final int chunkSize;
  private final int maxRemoteChannels;
  private final long sessionReceiveBudget;
  private final Duration writeStallTimeout;

  private PeerSessionConfig(Builder b) {
    identity = b.identity;
    caResolver = b.caResolver;
    role = b.role;
    expectedPeer = b.expectedPeer;
    listenerId = b.listenerId;
    acceptor = b.acceptor;
    clock = b.clock;
    route = b.route;
    listenerIdCheck = b.listenerIdCheck;
    unusedTimeout = b.unusedTimeout;
    handshakeTimeout = b.handshakeTimeout;
    heartbeatInterval = b.heartbeatInterval;
    idleTimeout = b.idleTimeout;
    receiveHighWaterMark = b.receiveHighWaterMark;
    receiveLowWaterMark = b.receiveLowWaterMark;
    overrunAllowance = b.overrunAllowance;
    maxFrameSize = b.maxFrameSize;
    chunkSize = b.chunkSize;
    maxRemoteChannels = b.maxRemoteChannels;
    sessionReceiveBudget = b.sessionReceiveBudget;
    writeStallTimeout = b.writeStallTimeout;
  }

  /** Starts a configuration with the defaults for everything else. */
  public static Builder builder(Identity identity, CaResolver caResolver, PeerRole role) {
    return new Builder(identity, caResolver, role);
  }

  /** Our identity, presented to the peer. */
  public Identity identity() {
    return identity;
  }

  /** Finds the trusted CA of the peer's domain. */
  public CaResolver caResolver() {
    return caResolver;
  }

  /** Initiator or acceptor. */
  public PeerRole role() {
    return role;
  }

  /** The address the peer's certificate must name; null (acceptor only) accepts any valid one. */
  public Address expectedPeer() {
    return expectedPeer;
  }

  /** The listener id the initiator sends in Hello ("" if none). */
  public String listenerId() {
    return listenerId;
  }

  /** Decides about channels the peer opens. */
  public ChannelAcceptor acceptor() {
    return acceptor;
  }

  /** Decides certificate validity and heartbeat expiry. */
  public Clock clock() {
    return clock;
  }

  /** Which path carries the session ("tcp", "ptcp", "relay"), for diagnostics. */
  public Route route() {
    return route;
  }

  /** Checks the listener id in an initiator's Hello (acceptor side), or null to take any. */
  public ListenerIdCheck listenerIdCheck() {
    return listenerIdCheck;
  }

  /** A session without channels for this long is closed ({@link Duration#ZERO}: never). */
  public Duration unusedTimeout() {
    return unusedTimeout;
  }

  /** TLS handshake plus Hello exchange must finish within this. */
  public Duration handshakeTimeout() {
    return handshakeTimeout;
  }

  /** How often a Ping is sent and liveness checked. */
  public Duration heartbeatInterval() {
    return heartbeatInterval;
  }

  /** No frame at all from the peer for this long fails the session with SESSION_LOST. */
  public Duration idleTimeout() {
    return idleTimeout;
  }

  /** Unconsumed bytes of one channel at which it is choked. */
  public int receiveHighWaterMark() {
    return receiveHighWaterMark;
  }

  /** Unconsumed bytes of one channel at or below which a choked channel is unchoked. */
  public int receiveLowWaterMark() {
    return receiveLowWaterMark;
  }

  /** Bytes a sender may deliver beyond the high mark (in flight when choked) before a reset. */
  public int overrunAllowance() {
    return overrunAllowance;
  }

  /** Largest frame accepted; a larger length prefix fails the session with FRAME_TOO_LARGE. */
  public int maxFrameSize() {
    return maxFrameSize;
  }

  /** Bytes per data frame this side sends. */
  public int chunkSize() {
    return chunkSize;
  }

  /** Most channels the peer may have open at once; further opens are reset with REFUSED. */
  public int maxRemoteChannels() {
    return maxRemoteChannels;
  }

  /**
   * Memory (buffer capacity, not just payload) all channels of the session may hold received but
   * not yet delivered; past it the session stops reading its transport until half is consumed.
   */
  public long sessionReceiveBudget() {
    return sessionReceiveBudget;
  }

  /** A blocking write or close that makes no progress for this long resets the channel. */
  public Duration writeStallTimeout() {
    return writeStallTimeout;
  }

  /** Builder; every setter checks its value and names it on failure. */
  public static final class Builder {
    private final Identity identity;
    private final CaResolver caResolver;
    private final PeerRole role;
    private Address expectedPeer;
    private String listenerId = "";
    private ChannelAcceptor acceptor = ChannelAcceptor.refuseAll();
    private Clock clock = Clock.systemUTC();
    private Route route = new Route(Route.Kind.TCP, "unknown");
    private ListenerIdCheck listenerIdCheck;
    private Duration unusedTimeout = Duration.ZERO;
    private Duration handshakeTimeout = Duration.ofSeconds(15);
    private Duration heartbeatInterval = Duration.ofSeconds(15);
    private Duration idleTimeout = Duration.ofSeconds(45);
    private int receiveHighWaterMark = 256 * 1024;
    private int receiveLowWaterMark = 128 * 1024;
    private int overrunAllowance = 4 << 20;
    private int maxFrameSize = DEFAULT_MAX_FRAME_SIZE;
    /** 0: the default, made smaller when a smaller maxFrameSize cannot carry it. */
    private int chunkSize;
    private int maxRemoteChannels = DEFAULT_MAX_REMOTE_CHANNELS;
    private long sessionReceiveBudget = DEFAULT_SESSION_RECEIVE_BUDGET;
    private Duration writeStallTimeout = DEFAULT_WRITE_STALL_TIMEOUT;

    private Builder(Identity identity, CaResolver caResolver, PeerRole role) {
      this.identity = Objects.requireNonNull(identity, "identity");
      this.caResolver = Objects.requireNonNull(caResolver, "caResolver");
      this.role = Objects.requireNonNull(role, "role");
    }

    /** The address the peer must prove (required for the initiator). */
    public Builder expectedPeer(Address expectedPeer) {
      this.expectedPeer = expectedPeer;
      return this;
    }

    /** The listener id the initiator sends in Hello. */
    public Builder listenerId(String listenerId) {
      this.listenerId = Objects.requireNonNull(listenerId, "listenerId");
      return this;
    }

    public Builder acceptor(ChannelAcceptor acceptor) {
      this.acceptor = Objects.requireNonNull(acceptor, "acceptor");
      return this;
    }

    public Builder clock(Clock clock) {
      this.clock = Objects.requireNonNull(clock, "clock");
      return this;
    }

    /** The path the transport takes (for logs and users). */
    public Builder route(Route route) {
      this.route = Objects.requireNonNull(route, "route");
      return this;
    }

    /**
     * Acceptor side: the listener id the initiator names in Hello must pass {@code check} (a
     * direct transport learns which Inbound it answers only there), else the session is refused.
     */
    public Builder listenerIdCheck(ListenerIdCheck check) {
      this.listenerIdCheck = check;
      return this;
    }

    /** Closes the session once it has had no channel for {@code timeout} (zero: never). */
    public Builder unusedTimeout(Duration timeout) {
      Objects.requireNonNull(timeout, "unusedTimeout");
      if (timeout.isNegative()) {
        throw new IllegalArgumentException("unusedTimeout must not be negative: " + timeout);
      }
      this.unusedTimeout = timeout;
      return this;
    }

    public Builder handshakeTimeout(Duration timeout) {
      this.handshakeTimeout = positive(timeout, "handshakeTimeout");
      return this;
    }

    /** Ping every {@code interval}; fail the session after {@code idleTimeout} without any frame. */
    public Builder heartbeat(Duration interval, Duration idleTimeout) {
      this.heartbeatInterval = positive(interval, "heartbeatInterval");
      this.idleTimeout = positive(idleTimeout, "idleTimeout");
      if (idleTimeout.compareTo(interval) <= 0) {
        throw new IllegalArgumentException(
            "idleTimeout must exceed heartbeatInterval: " + idleTimeout + " <= " + interval);
      }
      return this;
    }

    /** Per-channel receive budget: choke at {@code high}, unchoke at {@code low}. */
    public Builder receiveWaterMarks(int low, int high) {
      if (low < 0 || high <= 0 || low >= high) {
        throw new IllegalArgumentException("need 0 <= low < high, got low=" + low + " high=" + high);
      }
      this.receiveLowWaterMark = low;
      this.receiveHighWaterMark = high;
      return this;
    }

    /** Bytes tolerated beyond the high mark before FLOW_CONTROL_ERROR. */
    public Builder overrunAllowance(int bytes) {
      if (bytes < 4096) {
        throw new IllegalArgumentException("overrunAllowance < 4096: " + bytes);
      }
      this.overrunAllowance = bytes;
      return this;
    }

    public Builder maxFrameSize(int bytes) {
      if (bytes < 1024) {
        throw new IllegalArgumentException("maxFrameSize < 1024: " + bytes);
      }
      this.maxFrameSize = bytes;
      return this;
    }

    public Builder chunkSize(int bytes) {
      if (bytes < 1 || bytes > MAX_CHUNK_SIZE) {
        throw new IllegalArgumentException("chunkSize not in 1.." + MAX_CHUNK_SIZE + ": " + bytes);
      }
      this.chunkSize = bytes;
      return this;
    }

    /** Most channels the peer may have open at once (at least 1). */
    public Builder maxRemoteChannels(int n) {
      if (n < 1) {
        throw new IllegalArgumentException("maxRemoteChannels < 1: " + n);
      }
      this.maxRemoteChannels = n;
      return this;
    }

    /** Memory the session's channels may hold undelivered before reading pauses (at least 1 MiB). */
    public Builder sessionReceiveBudget(long bytes) {
      if (bytes < (1 << 20)) {
        throw new IllegalArgumentException("sessionReceiveBudget < 1 MiB: " + bytes);
      }
      this.sessionReceiveBudget = bytes;
      return this;
    }

    /** How long a blocking write may make no progress before the channel is reset. */
    public Builder writeStallTimeout(Duration timeout) {
      this.writeStallTimeout = positive(timeout, "writeStallTimeout");
      return this;
    }

    public PeerSessionConfig build() {
      if (role == PeerRole.INITIATOR && expectedPeer == null) {
        throw new IllegalStateException("an initiator must name the peer address it expects");
      }
      if (chunkSize == 0) {
        chunkSize = Math.min(DEFAULT_CHUNK_SIZE, maxFrameSize - 32);
      }
      if (maxFrameSize < chunkSize + 32) {
        throw new IllegalStateException(
            "maxFrameSize " + maxFrameSize + " cannot carry chunks of " + chunkSize + " bytes");
      }
      return new PeerSessionConfig(this);
    }

    private static Duration positive(Duration d, String name) {
      Objects.requireNonNull(d, name);
      if (d.isNegative() || d.isZero()) {
        throw new IllegalArgumentException(name + " must be positive: " + d);
      }
      return d;
    }
  }
}
