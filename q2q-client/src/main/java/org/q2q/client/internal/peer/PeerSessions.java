package org.q2q.client.internal.peer;

import io.netty.channel.Channel;
import java.time.Clock;
import java.util.concurrent.CompletableFuture;
import java.util.function.UnaryOperator;
import org.q2q.certstore.Address;
import org.q2q.certstore.AddressTrustManager.CaResolver;
import org.q2q.certstore.Identity;
import org.q2q.client.Route;
import org.q2q.client.internal.Futures;

/**
 * Starts peer sessions on reached transports with this client's identity, trusted CAs, channel
 * acceptor and tuning, as initiator (we connected) or acceptor (a peer reached us). Thread-safe.
 */
public final class PeerSessions {
  private final Identity identity;
  private final CaResolver cas;
  private final Clock clock;
  private final ChannelAcceptor acceptor;
  private final UnaryOperator<PeerSessionConfig.Builder> tuning;

  /** @param tuning applies the client's timeouts and water marks to each configuration */
  public PeerSessions(Identity identity, CaResolver cas, Clock clock, ChannelAcceptor acceptor,
      UnaryOperator<PeerSessionConfig.Builder> tuning) {
    this.identity = identity;
    this.cas = cas;
    this.clock = clock;
    this.acceptor = acceptor;
    this.tuning = tuning;
  }

  /** We reached {@code expected}'s listener {@code listenerId} over {@code transport}. */
  public CompletableFuture<PeerSession> initiate(Channel transport, Address expected, String listenerId, Route route) {
    PeerSessionConfig cfg = tuning.apply(PeerSessionConfig.builder(identity, cas, PeerRole.INITIATOR)
        .expectedPeer(expected).listenerId(listenerId).acceptor(acceptor).clock(clock).route(route)).build();
    return Futures.of(PeerSession.start(transport, cfg));
  }

  /**
   * A peer reached us over {@code transport}; {@code ids} claims the listener id of its Hello.
   *
   * @param expected the peer the server announced for this transport, or null when only the
   *     Hello's listener id tells (a direct connection): then {@code ids} must check the peer
   */
  public CompletableFuture<PeerSession> accept(Channel transport, Address expected, Route route, ListenerIdCheck ids) {
    PeerSessionConfig cfg = tuning.apply(PeerSessionConfig.builder(identity, cas, PeerRole.ACCEPTOR)
        .expectedPeer(expected).acceptor(acceptor).clock(clock).route(route).listenerIdCheck(ids)).build();
    return Futures.of(PeerSession.start(transport, cfg));
  }
}
