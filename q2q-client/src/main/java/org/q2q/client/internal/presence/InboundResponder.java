package org.q2q.client.internal.presence;

import io.netty.channel.EventLoopGroup;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import org.q2q.certstore.Address;
import org.q2q.certstore.AddressFormatException;
import org.q2q.client.AcceptPolicy;
import org.q2q.client.internal.connect.DomainServers;
import org.q2q.client.internal.connect.Futures;
import org.q2q.client.internal.connect.PeerSessions;
import org.q2q.client.internal.peer.PeerSession;
import org.q2q.client.internal.relay.RelayChannel;
import org.q2q.proto.InboundAnswer;
import org.q2q.proto.InboundQuery;
import org.q2q.proto.PresenceGrpc;
import org.q2q.proto.RelayOpen;
import org.q2q.proto.RelayRole;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The listening side of getting connected: answers the server's Inbound queries and relay-open
 * notices.
 *
 * <ul>
 *   <li>Inbound: declines unless a local listener exists and its policy accepts the peer; makes
 *       sure the peer's domain CA is known (learning it by Identify for a foreign domain) so the
 *       TLS handshake can verify it; remembers the listener id it accepted, with the peer and
 *       service, for {@link #LISTENER_ID_LIFETIME}. No direct methods yet: the server adds relay.
 *   <li>Relay-open: only for a listener id we accepted, from the same peer: opens our relay stream
 *       as the listener and starts the peer session as acceptor expecting exactly that peer.
 * </ul>
 *
 * Thread-safe.
 */
public final class InboundResponder implements PresenceSession.Handler {
  private static final Logger log = LoggerFactory.getLogger(InboundResponder.class);
  /** How long an accepted listener id waits for the connector's relay (the server's expiry). */
  static final Duration LISTENER_ID_LIFETIME = Duration.ofSeconds(120);

  private record Pending(Address from, String service, long expiresMillis) {}

  private final Address self;
  private final LocalListeners listeners;
  private final DomainServers servers;
  private final PeerSessions sessions;
  private final EventLoopGroup group;
  private final Clock clock;
  private final Consumer<PeerSession> established;
  private final Map<String, Pending> pending = new ConcurrentHashMap<>();

  /** @param established receives every session a peer opened to us (for the session cache) */
  public InboundResponder(Address self, LocalListeners listeners, DomainServers servers, PeerSessions sessions,
      EventLoopGroup group, Clock clock, Consumer<PeerSession> established) {
    this.self = self;
    this.listeners = listeners;
    this.servers = servers;
    this.sessions = sessions;
    this.group = group;
    this.clock = clock;
    this.established = established;
  }

  @Override
  public CompletableFuture<InboundAnswer> inboundQuery(InboundQuery q) {
    InboundAnswer.Builder a = InboundAnswer.newBuilder().setQueryId(q.getQueryId());
    Address from;
    try {
      from = Address.parse(q.getFrom());
    } catch (AddressFormatException e) {
      return CompletableFuture.completedFuture(a.setAccept(false).setDeclineReason("malformed peer address").build());
    }
    AcceptPolicy.Decision d = listeners.decide(from, q.getService());
    if (!d.accepted()) {
      log.info("{} declined {} for '{}': {}", self, from, q.getService(), d.reason());
      return CompletableFuture.completedFuture(a.setAccept(false).setDeclineReason(d.reason()).build());
    }
    expire();
    return servers.learnCa(from.domainAddress()).handle((ca, e) -> {
      if (e != null) {
        Throwable c = Futures.unwrap(e);
        log.warn("{} cannot verify peers of {}: {}", self, from.domain(), c.getMessage());
        return a.setAccept(false).setDeclineReason(
            "the listener cannot verify certificates of " + from.domain() + ": " + c.getMessage()).build();
      }
      pending.put(q.getListenerId(), new Pending(from, q.getService(),
          clock.millis() + LISTENER_ID_LIFETIME.toMillis()));
      log.debug("{} accepted inbound from {} for '{}'", self, from, q.getService());
      return a.setAccept(true).build();
    });
  }

  @Override
  public void relayOpen(RelayOpen r) {
    Pending p = pending.remove(r.getListenerId());
    if (p == null || p.expiresMillis() < clock.millis() || !p.from().toString().equals(r.getFrom())) {
      log.warn("{} ignoring a relay-open for a listener id we did not accept (from {})", self, r.getFrom());
      return;
    }
    DomainServers.Server own = servers.own();
    PresenceGrpc.PresenceStub stub = PresenceGrpc.newStub(own.channel());
    RelayChannel.open(stub, own.loopOr(group), r.getListenerId(), RelayRole.RELAY_ROLE_LISTENER, own.address().toString())
        .thenCompose(ch -> sessions.accept(ch, p.from(), "relay").whenComplete((s, e) -> {
          if (e != null) {
            ch.close();
          }
        }))
        .whenComplete((s, e) -> {
          if (e != null) {
            log.info("{} relayed session from {} failed: {}", self, p.from(), Futures.unwrap(e).getMessage());
          } else {
            log.info("{} session from {} established via relay through {}", self, p.from(), own.address());
            established.accept(s);
          }
        });
  }

  private void expire() {
    long now = clock.millis();
    pending.values().removeIf(p -> p.expiresMillis() < now);
  }
}
