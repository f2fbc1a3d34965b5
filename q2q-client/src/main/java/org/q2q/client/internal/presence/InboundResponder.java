package org.q2q.client.internal.presence;

import io.netty.channel.EventLoopGroup;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import org.q2q.certstore.Address;
import org.q2q.certstore.AddressFormatException;
import org.q2q.client.AcceptPolicy;
import org.q2q.client.Route;
import org.q2q.client.internal.Futures;
import org.q2q.client.internal.accept.ListenerIds;
import org.q2q.client.internal.accept.TcpTransportAcceptor;
import org.q2q.client.internal.accept.UdpTransportAcceptor;
import org.q2q.client.internal.punch.HolePunch;
import org.q2q.proto.BindUdpQuery;
import org.q2q.client.internal.grpc.DomainServers;
import org.q2q.client.internal.peer.PeerSession;
import org.q2q.client.internal.peer.PeerSessions;
import org.q2q.client.internal.relay.RelayChannel;
import org.q2q.client.internal.relay.RelaySocket;
import org.q2q.proto.ConnectionMethod;
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
 *       TLS handshake can verify it; remembers the listener id it accepted ({@link ListenerIds});
 *       answers with the TCP acceptor's methods (the server adds relay), and schedules a dial-back
 *       for reverse TCP in case the connector cannot reach us.
 *   <li>Relay-open: only for a listener id we accepted, from the same peer: opens our relay stream
 *       as the listener and starts the peer session as acceptor expecting exactly that peer; the
 *       id is used up when the session's Hello names it, whichever transport gets there first.
 * </ul>
 *
 * Thread-safe.
 */
public final class InboundResponder implements PresenceSession.Handler {
  private static final Logger log = LoggerFactory.getLogger(InboundResponder.class);

  private final Address self;
  private final LocalListeners listeners;
  private final DomainServers servers;
  private final PeerSessions sessions;
  private final ListenerIds ids;
  private final TcpTransportAcceptor acceptor;
  private final UdpTransportAcceptor udp;
  private final long dialBackDelayMillis;
  private final EventLoopGroup group;
  private final Consumer<PeerSession> established;
  /** Asks a caller's own domain whether its certificate is revoked (callers of other domains). */
  private final PeerRevocationCheck revocations;

  /**
   * @param dialBackDelayMillis how long the connector has to reach us directly before we dial back
   * @param established receives every session a peer opened to us (for the session cache)
   */
  public InboundResponder(Address self, LocalListeners listeners, DomainServers servers, PeerSessions sessions,
      ListenerIds ids, TcpTransportAcceptor acceptor, UdpTransportAcceptor udp, long dialBackDelayMillis, EventLoopGroup group,
      Consumer<PeerSession> established) {
    this.self = self;
    this.listeners = listeners;
    this.servers = servers;
    this.sessions = sessions;
    this.ids = ids;
    this.acceptor = acceptor;
    this.udp = udp;
    this.dialBackDelayMillis = dialBackDelayMillis;
    this.group = group;
    this.established = established;
    this.revocations = new PeerRevocationCheck(self, servers, java.time.Clock.systemUTC());
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
    X509Certificate leaf = leafOf(q);
    return servers.learnCa(from.domainAddress())
        .thenCompose(ca -> revocations.isRevoked(from, leaf))
        .handle((revoked, e) -> {
      if (e != null) {
        Throwable c = Futures.unwrap(e);
        log.warn("{} cannot verify peers of {}: {}", self, from.domain(), c.getMessage());
        return a.setAccept(false).setDeclineReason(
            "the listener cannot verify certificates of " + from.domain() + ": " + c.getMessage()).build();
      }
      if (revoked) {
        log.warn("{} declined {}: its domain revoked its certificate", self, from);
        return a.setAccept(false).setDeclineReason("the certificate of " + from + " has been revoked by "
            + from.domain()).build();
      }
      if (!ids.offer(q.getListenerId(), from, q.getService(), q.getUdpCandidatesList(),
          Integer.toUnsignedLong(q.getListenerIdLifetimeMillis()))) {
        log.warn("{} declined {}: too many connection attempts pending", self, from);
        return a.setAccept(false).setDeclineReason("the listener is busy (too many pending connections)").build();
      }
      List<ConnectionMethod> methods = new java.util.ArrayList<>(acceptor.methods(q));
      methods.addAll(udp.methods(q));
      if (methods.stream().anyMatch(ConnectionMethod::hasReverseTcp)) {
        acceptor.dialBack(q.getListenerId(), from, q.getTcpCandidatesList(), dialBackDelayMillis);
      }
      log.debug("{} accepted inbound from {} for '{}' ({} direct methods)", self, from, q.getService(), methods.size());
      return a.setAccept(true).addAllMethods(methods).build();
    });
  }

  /** The caller's certificate as the server forwarded it, or null if absent or unreadable. */
  private static X509Certificate leafOf(InboundQuery q) {
    if (q.getFromCertificateChainCount() == 0) {
      return null;
    }
    try {
      return org.q2q.certstore.Certificates.fromDer(q.getFromCertificateChain(0).toByteArray());
    } catch (java.security.cert.CertificateException e) {
      return null; // the peer session's TLS checks the chain anyway
    }
  }

  @Override
  public CompletableFuture<String> bindUdp(BindUdpQuery q) {
    ListenerIds.Pending p = ids.get(q.getListenerId());
    if (p == null || !p.from().toString().equals(q.getFrom())) {
      return CompletableFuture.completedFuture("unknown or used listener id");
    }
    if (!udp.listening()) {
      return CompletableFuture.completedFuture("this listener has no UDP socket");
    }
    log.debug("{} punching toward {} at {}", self, p.from(), p.udp());
    udp.punch(HolePunch.Role.LISTENER, q.getListenerId(), p.udp(), e -> log.debug("{} punch for {}: {}", self,
        p.from(), e)).whenComplete((path, e) -> {
          if (e != null) {
            log.info("{} punching toward {} failed: {}", self, p.from(), Futures.unwrap(e).getMessage());
          } else {
            log.info("{} punched a path to {} at {}", self, p.from(), Route.hostPort(path));
          }
        });
    return CompletableFuture.completedFuture(""); // started: the answer times the connector's half
  }

  @Override
  public void relayOpen(RelayOpen r) {
    Address from;
    try {
      from = Address.parse(r.getFrom());
    } catch (AddressFormatException e) {
      log.warn("{} ignoring a relay-open from a malformed address", self);
      return;
    }
    if (ids.peek(r.getListenerId(), from) == null) {
      // Usually a relay attempt that lost the race to a direct path, which used the id first.
      log.debug("{} ignoring a relay-open for a listener id we did not accept or already used (from {})", self, from);
      return;
    }
    DomainServers.Server own = servers.own();
    Route route = Route.relay(own.address().toString());
    CompletableFuture<? extends io.netty.channel.Channel> relay;
    if (r.getSocketPort() > 0 && r.getSocketPort() <= 65535) { // the connector came by the relay socket
      relay = RelaySocket.open(own.loopOr(group), own.address(), r.getSocketPort(), servers.relaySocketTls(own),
          r.getListenerId(), RelayRole.RELAY_ROLE_LISTENER);
    } else {
      relay = RelayChannel.open(PresenceGrpc.newStub(own.channel()), own.loopOr(group), r.getListenerId(),
          RelayRole.RELAY_ROLE_LISTENER, route.via());
    }
    relay
        .thenCompose(ch -> sessions.accept(ch, from, route, ids).whenComplete((s, e) -> {
          if (e != null) {
            ch.close();
          }
        }))
        .whenComplete((s, e) -> {
          if (e != null) {
            log.info("{} relayed session from {} failed: {}", self, from, Futures.unwrap(e).getMessage());
          } else {
            log.info("{} session from {} established via {}", self, from, route);
            established.accept(s);
          }
        });
  }
}
