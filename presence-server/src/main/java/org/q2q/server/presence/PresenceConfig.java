package org.q2q.server.presence;

import java.time.Duration;
import java.util.Objects;

/**
 * The knobs of the Presence service. {@link #defaults()} suits a public server; tests shrink the
 * timeouts and limits with the {@code with...} copies.
 *
 * @param inboundAnswerTimeout how long Inbound waits for listeners to answer their InboundQuery;
 *     listeners silent that long are left out (all silent: UNAVAILABLE)
 * @param listenerIdTtl how long a listener id handed out by Inbound stays usable (60 s: twice the client's default
 *     connect timeout, so an id outlives the race it serves; ids of direct connections are never
 *     returned, so this sets how many a busy server holds)
 * @param relayJoinTimeout how long a connector's relay stream waits for the listener to open its
 *     side before failing with UNAVAILABLE
 * @param bindUdpTimeout how long BindUdp waits for the listener's answer
 * @param listenIdleTimeout a Listen stream from which nothing (not even a heartbeat) arrives for
 *     this long is ended with UNAVAILABLE and its registrations dropped, so that a vanished machine
 *     does not keep answering nothing to Inbound until TCP notices (clients heartbeat every 30 s)
 * @param maxRelayStreamsPerAddress concurrent relay streams one address may hold open (either role)
 * @param maxRelayBytesInFlightPerAddress bytes an address may have queued in the relay (received,
 *     not yet handed to the other side's transport), summed over its streams
 * @param maxRelayFrameBytes largest data frame accepted on a relay stream (clients send 16-64 KiB)
 * @param relayWindowFrames frames the relay requests ahead from a sender while the receiver is
 *     ready; also the most it queues per direction (4)
 * @param relayReadyThresholdBytes bytes gRPC may buffer toward a relay client before the stream
 *     reports not ready (128 KiB; gRPC's default is 32 KiB)
 * @param maxServicesPerSession services one Listen stream may offer at once
 * @param maxPendingQueriesPerSession queries a Listen stream may leave unanswered; past that it is
 *     skipped by Inbound (as if it had not answered)
 * @param federation where foreign domains' servers are, to learn their CAs; null disables federation
 *     (foreign callers are then UNAUTHENTICATED unless their CA is already known)
 * @param relayTap observer of every relayed data frame, for tests; null in production
 * @param relayCaps the relay's global bounds and socket buffering
 */
public record PresenceConfig(
    Duration inboundAnswerTimeout,
    Duration listenerIdTtl,
    Duration relayJoinTimeout,
    Duration bindUdpTimeout,
    Duration listenIdleTimeout,
    int maxRelayStreamsPerAddress,
    long maxRelayBytesInFlightPerAddress,
    int maxRelayFrameBytes,
    int relayWindowFrames,
    int relayReadyThresholdBytes,
    int maxServicesPerSession,
    int maxPendingQueriesPerSession,
    DomainServerLocator federation,
    RelayTap relayTap,
    RelayCaps relayCaps) {

  public PresenceConfig {
    positive(inboundAnswerTimeout, "inboundAnswerTimeout");
    positive(listenerIdTtl, "listenerIdTtl");
    positive(relayJoinTimeout, "relayJoinTimeout");
    positive(bindUdpTimeout, "bindUdpTimeout");
    positive(listenIdleTimeout, "listenIdleTimeout");
    atLeastOne(maxRelayStreamsPerAddress, "maxRelayStreamsPerAddress");
    atLeastOne(maxRelayBytesInFlightPerAddress, "maxRelayBytesInFlightPerAddress");
    atLeastOne(maxRelayFrameBytes, "maxRelayFrameBytes");
    atLeastOne(relayWindowFrames, "relayWindowFrames");
    atLeastOne(relayReadyThresholdBytes, "relayReadyThresholdBytes");
    atLeastOne(maxServicesPerSession, "maxServicesPerSession");
    atLeastOne(maxPendingQueriesPerSession, "maxPendingQueriesPerSession");
    Objects.requireNonNull(relayCaps, "relayCaps");
  }

  /**
   * Production defaults: Inbound waits 5 s, ids live 60 s, a relay waits 10 s for its listener, a
   * Listen stream silent for 120 s is ended, 64 relay streams and 16 MiB in flight per address,
   * frames up to 1 MiB, a relay window of 4 frames and a 128 KiB ready threshold, 256 services and
   * 256 pending queries per Listen stream; federation through {@code <domain>:8788}; no tap;
   * {@link RelayCaps#defaults()}.
   */
  public static PresenceConfig defaults() {
    return new PresenceConfig(
        Duration.ofSeconds(5),
        Duration.ofSeconds(60),
        Duration.ofSeconds(10),
        Duration.ofSeconds(5),
        Duration.ofSeconds(120),
        64,
        16L << 20,
        1 << 20,
        4,
        128 << 10,
        256,
        256,
        DomainServerLocator.defaultPort(),
        null,
        RelayCaps.defaults());
  }

  /** A copy with another Inbound answer timeout. */
  public PresenceConfig withInboundAnswerTimeout(Duration d) {
    return new PresenceConfig(d, listenerIdTtl, relayJoinTimeout, bindUdpTimeout, listenIdleTimeout,
        maxRelayStreamsPerAddress, maxRelayBytesInFlightPerAddress, maxRelayFrameBytes, relayWindowFrames,
        relayReadyThresholdBytes, maxServicesPerSession, maxPendingQueriesPerSession, federation, relayTap, relayCaps);
  }

  /** A copy with another listener id lifetime. */
  public PresenceConfig withListenerIdTtl(Duration d) {
    return new PresenceConfig(inboundAnswerTimeout, d, relayJoinTimeout, bindUdpTimeout, listenIdleTimeout,
        maxRelayStreamsPerAddress, maxRelayBytesInFlightPerAddress, maxRelayFrameBytes, relayWindowFrames,
        relayReadyThresholdBytes, maxServicesPerSession, maxPendingQueriesPerSession, federation, relayTap, relayCaps);
  }

  /** A copy with another relay join timeout. */
  public PresenceConfig withRelayJoinTimeout(Duration d) {
    return new PresenceConfig(inboundAnswerTimeout, listenerIdTtl, d, bindUdpTimeout, listenIdleTimeout,
        maxRelayStreamsPerAddress, maxRelayBytesInFlightPerAddress, maxRelayFrameBytes, relayWindowFrames,
        relayReadyThresholdBytes, maxServicesPerSession, maxPendingQueriesPerSession, federation, relayTap, relayCaps);
  }

  /** A copy with another Listen idle timeout. */
  public PresenceConfig withListenIdleTimeout(Duration d) {
    return new PresenceConfig(inboundAnswerTimeout, listenerIdTtl, relayJoinTimeout, bindUdpTimeout, d,
        maxRelayStreamsPerAddress, maxRelayBytesInFlightPerAddress, maxRelayFrameBytes, relayWindowFrames,
        relayReadyThresholdBytes, maxServicesPerSession, maxPendingQueriesPerSession, federation, relayTap, relayCaps);
  }

  /** A copy with other relay limits. */
  public PresenceConfig withRelayLimits(int streamsPerAddress, long bytesInFlightPerAddress, int frameBytes) {
    return new PresenceConfig(inboundAnswerTimeout, listenerIdTtl, relayJoinTimeout, bindUdpTimeout,
        listenIdleTimeout, streamsPerAddress, bytesInFlightPerAddress, frameBytes, relayWindowFrames,
        relayReadyThresholdBytes, maxServicesPerSession, maxPendingQueriesPerSession, federation, relayTap, relayCaps);
  }

  /** A copy with another relay window and ready threshold (throughput vs. memory per relay). */
  public PresenceConfig withRelayWindow(int windowFrames, int readyThresholdBytes) {
    return new PresenceConfig(inboundAnswerTimeout, listenerIdTtl, relayJoinTimeout, bindUdpTimeout,
        listenIdleTimeout, maxRelayStreamsPerAddress, maxRelayBytesInFlightPerAddress, maxRelayFrameBytes,
        windowFrames, readyThresholdBytes, maxServicesPerSession, maxPendingQueriesPerSession, federation,
        relayTap, relayCaps);
  }

  /** A copy with other Listen session limits. */
  public PresenceConfig withListenLimits(int servicesPerSession, int pendingQueriesPerSession) {
    return new PresenceConfig(inboundAnswerTimeout, listenerIdTtl, relayJoinTimeout, bindUdpTimeout,
        listenIdleTimeout, maxRelayStreamsPerAddress, maxRelayBytesInFlightPerAddress, maxRelayFrameBytes,
        relayWindowFrames, relayReadyThresholdBytes, servicesPerSession, pendingQueriesPerSession,
        federation, relayTap, relayCaps);
  }

  /** A copy with another federation locator (null: no federation). */
  public PresenceConfig withFederation(DomainServerLocator locator) {
    return new PresenceConfig(inboundAnswerTimeout, listenerIdTtl, relayJoinTimeout, bindUdpTimeout,
        listenIdleTimeout, maxRelayStreamsPerAddress, maxRelayBytesInFlightPerAddress, maxRelayFrameBytes,
        relayWindowFrames, relayReadyThresholdBytes, maxServicesPerSession, maxPendingQueriesPerSession,
        locator, relayTap, relayCaps);
  }

  /** A copy with a relay tap (null: none). */
  public PresenceConfig withRelayTap(RelayTap tap) {
    return new PresenceConfig(inboundAnswerTimeout, listenerIdTtl, relayJoinTimeout, bindUdpTimeout,
        listenIdleTimeout, maxRelayStreamsPerAddress, maxRelayBytesInFlightPerAddress, maxRelayFrameBytes,
        relayWindowFrames, relayReadyThresholdBytes, maxServicesPerSession, maxPendingQueriesPerSession,
        federation, tap, relayCaps);
  }

  /** A copy with other global relay bounds. */
  public PresenceConfig withRelayCaps(RelayCaps caps) {
    return new PresenceConfig(inboundAnswerTimeout, listenerIdTtl, relayJoinTimeout, bindUdpTimeout,
        listenIdleTimeout, maxRelayStreamsPerAddress, maxRelayBytesInFlightPerAddress, maxRelayFrameBytes,
        relayWindowFrames, relayReadyThresholdBytes, maxServicesPerSession, maxPendingQueriesPerSession,
        federation, relayTap, caps);
  }

  private static void positive(Duration d, String name) {
    Objects.requireNonNull(d, name);
    if (d.isNegative() || d.isZero()) {
      throw new IllegalArgumentException(name + " must be positive, got " + d);
    }
  }

  private static void atLeastOne(long v, String name) {
    if (v < 1) {
      throw new IllegalArgumentException(name + " must be at least 1, got " + v);
    }
  }
}
