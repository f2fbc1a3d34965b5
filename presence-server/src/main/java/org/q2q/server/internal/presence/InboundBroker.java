package org.q2q.server.internal.presence;

import com.google.protobuf.ByteString;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import org.q2q.certstore.Address;
import org.q2q.proto.ConnectionMethod;
import org.q2q.proto.InboundAnswer;
import org.q2q.proto.HostPort;
import org.q2q.proto.InboundQuery;
import org.q2q.proto.InboundRequest;
import org.q2q.proto.InboundResponse;
import org.q2q.proto.Listener;
import org.q2q.proto.RelayMethod;
import org.q2q.server.internal.limits.LogText;
import org.q2q.server.internal.metrics.ServerMetrics;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Inbound: asks every Listen session registered for (to, service) for its connection methods and
 * builds the listener list.
 *
 * <ul>
 *   <li>udp_candidates must be at most 16 IP literals with ports ({@link UdpCandidates}), else
 *       INVALID_ARGUMENT; they are kept with the listener id for BindUdp;
 *   <li>no listener: NOT_FOUND naming the address and the service;
 *   <li>each listener gets an InboundQuery with a fresh listener id and the caller's verified
 *       address and chain; answers are awaited up to the configured timeout;
 *   <li>accepting listeners become {@link Listener} entries: the id (now usable for 60 s), the
 *       listener's chain from its own TLS session, its methods passed through untouched (unknown
 *       kinds included) plus a relay method, the expiry and its description;
 *   <li>all declined: PERMISSION_DENIED with their reasons; none answered: UNAVAILABLE.
 * </ul>
 * Safe for concurrent use.
 */
public final class InboundBroker {
  private static final Logger log = LoggerFactory.getLogger(InboundBroker.class);
  private static final Object NO_ANSWER = new Object();
  /** Candidates a connector may announce per transport (local interfaces plus reflexive). */
  static final int MAX_CANDIDATES = 16;
  /** Connection methods a listener's answer may carry. */
  static final int MAX_METHODS = 32;

  private final Address ownDomain;
  private final ListenerRegistry registry;
  private final ListenerTickets tickets;
  private final Duration answerTimeout;
  private final OtherNodes otherNodes;
  private final ServerMetrics metrics;

  /**
   * The cause kept (never sent) in the UNAVAILABLE status of an Inbound that no listener answered
   * in time, so that the metrics can tell it from other UNAVAILABLEs ({@link #noListenerAnswered}).
   */
  private static final class NoListenerAnswered extends RuntimeException {
    private static final long serialVersionUID = 1L;

    NoListenerAnswered() {
      super("no listener answered", null, false, false);
    }
  }

  private static final NoListenerAnswered NO_LISTENER_ANSWERED = new NoListenerAnswered();

  /** The relay socket's port announced in relay methods; 0: none (the Relay RPC only). */
  private volatile int relaySocketPort;

  /** Announces the relay socket's port in every relay method from now on (0: none). */
  public void relaySocketPort(int port) {
    this.relaySocketPort = port;
  }

  public InboundBroker(Address ownDomain, ListenerRegistry registry, ListenerTickets tickets, Duration answerTimeout) {
    this(ownDomain, registry, tickets, answerTimeout, OtherNodes.NONE, new ServerMetrics());
  }

  /**
   * @param otherNodes the domain's other nodes, asked for the listeners they hold
   * @param metrics counts the refusals
   */
  public InboundBroker(Address ownDomain, ListenerRegistry registry, ListenerTickets tickets, Duration answerTimeout,
      OtherNodes otherNodes, ServerMetrics metrics) {
    this.metrics = metrics;
    this.ownDomain = ownDomain;
    this.registry = registry;
    this.tickets = tickets;
    this.answerTimeout = answerTimeout;
    this.otherNodes = otherNodes;
  }

  private record Asked(ListenSession session, String id, CompletableFuture<Object> answer) {}

  /**
   * Handles one Inbound call of {@code caller}.
   *
   * @return the response, or a failure carrying a {@link StatusRuntimeException}
   */
  public CompletableFuture<InboundResponse> inbound(Caller caller, InboundRequest request) {
    return inbound(caller, request, true);
  }

  /**
   * Handles an Inbound another node of the domain forwarded: only the listeners held here are
   * asked (the forwarding node asks the others).
   */
  public CompletableFuture<InboundResponse> inboundHere(Caller caller, InboundRequest request) {
    return inbound(caller, request, false);
  }

  private CompletableFuture<InboundResponse> inbound(Caller caller, InboundRequest request, boolean askOthers) {
    Address to;
    String service;
    UdpCandidates candidates;
    try {
      to = parseTo(request.getTo());
      service = ServiceNames.check(request.getService());
      checkBodyChain(caller, request.getCertificateChainList());
      candidates = UdpCandidates.of(request.getUdpCandidatesList());
      if (request.getTcpCandidatesCount() > MAX_CANDIDATES) {
        throw invalid("at most " + MAX_CANDIDATES + " tcp_candidates, got " + request.getTcpCandidatesCount());
      }
      for (HostPort hp : request.getTcpCandidatesList()) {
        UdpCandidates.parse(hp, "tcp_candidates"); // IP literals and ports in range, as for UDP
      }
    } catch (StatusRuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
    String what = to + "/" + service;
    if (!to.domain().equals(ownDomain.domain())) {
      return CompletableFuture.failedFuture(Status.NOT_FOUND
          .withDescription("no listener for service '" + service + "' at " + to + ": this server speaks for "
              + ownDomain + ", ask " + to.domainAddress() + "'s server")
          .asRuntimeException());
    }
    List<ListenSession> sessions = registry.lookup(to, service);
    List<CompletableFuture<OtherNodes.Outcome>> elsewhere =
        askOthers ? otherNodes.inbound(caller, request, to, service) : List.of();
    if (sessions.isEmpty() && elsewhere.isEmpty()) {
      // one answer whether or not the address listens at all: who is online with which services
      // is not told to any caller (L4)
      return CompletableFuture.failedFuture(Status.NOT_FOUND
          .withDescription("no listener for service '" + service + "' at " + to)
          .asRuntimeException());
    }
    try {
      tickets.requireRoom(caller.address(), sessions.size());
    } catch (StatusRuntimeException e) {
      elsewhere.forEach(f -> f.cancel(false));
      metrics.refused(ServerMetrics.Refusal.LISTENER_IDS);
      return CompletableFuture.failedFuture(e);
    }
    List<ByteString> fromChain = caller.chainDer();
    List<Asked> asked = new ArrayList<>();
    for (ListenSession s : sessions) {
      String id = tickets.newId();
      InboundQuery.Builder q = InboundQuery.newBuilder()
          .setFrom(caller.address().toString())
          .setService(service)
          .addAllUdpCandidates(request.getUdpCandidatesList())
          .addAllTcpCandidates(request.getTcpCandidatesList())
          .setListenerId(id)
          .setListenerIdLifetimeMillis((int) Math.min(Integer.MAX_VALUE, tickets.ttl().toMillis()))
          .addAllFromCertificateChain(fromChain);
      @SuppressWarnings({"unchecked", "rawtypes"})
      CompletableFuture<Object> answer = (CompletableFuture) s.ask(q);
      CompletableFuture<Object> timed = answer
          .exceptionally(e -> NO_ANSWER)
          .completeOnTimeout(NO_ANSWER, answerTimeout.toMillis(), TimeUnit.MILLISECONDS);
      timed.thenRun(() -> s.forget(answer));
      asked.add(new Asked(s, id, timed));
      log.debug("{} {}: asked {} for {}", id, caller.address(), s, what);
    }
    List<CompletableFuture<?>> all = new ArrayList<>(elsewhere);
    asked.forEach(a -> all.add(a.answer()));
    return CompletableFuture.allOf(all.toArray(CompletableFuture[]::new))
        .thenApply(v -> collect(caller, to, service, candidates, asked, elsewhere));
  }

  private InboundResponse collect(Caller caller, Address to, String service, UdpCandidates candidates,
      List<Asked> asked, List<CompletableFuture<OtherNodes.Outcome>> elsewhere) {
    InboundResponse.Builder resp = InboundResponse.newBuilder();
    List<String> declines = new ArrayList<>();
    boolean unanswered = false; // some listener, here or on another node, did not answer in time
    for (CompletableFuture<OtherNodes.Outcome> f : elsewhere) {
      OtherNodes.Outcome o = f.join();
      resp.addAllListeners(o.listeners());
      declines.addAll(o.declines());
      unanswered |= o.unanswered();
    }
    for (Asked a : asked) {
      Object o = a.answer().join();
      if (o == NO_ANSWER || !(o instanceof InboundAnswer answer)) {
        unanswered = true;
        log.info("{} {}: {} did not answer for {}/{}", a.id(), caller.address(), a.session(), to, service);
        continue;
      }
      if (!answer.getAccept()) {
        String reason = LogText.safe(answer.getDeclineReason().isEmpty() ? "declined" : answer.getDeclineReason());
        declines.add(reason);
        log.info("{} {}: {} declined {}/{}: {}", a.id(), caller.address(), a.session(), to, service, reason);
        continue;
      }
      ListenerTicket t = new ListenerTicket(a.id(), caller.address(), to, service, a.session(),
          tickets.expiryFromNow(), candidates);
      tickets.activate(t);
      // A listener's methods reach the connector as they are; a bound keeps one answer small.
      List<ConnectionMethod> methods = new ArrayList<>(
          answer.getMethodsList().subList(0, Math.min(answer.getMethodsCount(), MAX_METHODS)));
      // the relay is this server's to offer, with its socket port if it has one
      methods.removeIf(ConnectionMethod::hasRelay);
      RelayMethod.Builder relay = RelayMethod.newBuilder().setSocketPort(relaySocketPort);
      otherNodes.self().ifPresent(relay::setNode); // in a fleet the relay meets at the listener's node
      methods.add(ConnectionMethod.newBuilder().setRelay(relay).build());
      resp.addListeners(Listener.newBuilder()
          .setId(t.id())
          .addAllCertificateChain(a.session().caller().chainDer())
          .addAllMethods(methods)
          .setExpiresUnixMillis(t.expires().toEpochMilli())
          .setDescription(a.session().description(service)));
      log.info("{} {}: {} accepted {}/{} ({} methods)", a.id(), caller.address(), a.session(), to, service,
          methods.size());
    }
    if (resp.getListenersCount() > 0) {
      return resp.build();
    }
    if (!declines.isEmpty()) {
      throw new CompletionException(Status.PERMISSION_DENIED
          .withDescription(to + " declined the connection to service '" + service + "': " + String.join("; ", declines))
          .asRuntimeException());
    }
    if (!unanswered) { // only nodes that turned out gone or empty: as if no one listened
      throw new CompletionException(Status.NOT_FOUND
          .withDescription("no listener for service '" + service + "' at " + to)
          .asRuntimeException());
    }
    throw new CompletionException(Status.UNAVAILABLE
        .withDescription("the listener of service '" + service + "' at " + to + " did not answer within "
            + answerTimeout.toMillis() + " ms")
        .withCause(NO_LISTENER_ANSWERED)
        .asRuntimeException());
  }

  /** Whether {@code s} is the failure of an Inbound that no listener answered in time. */
  public static boolean noListenerAnswered(Status s) {
    return s.getCause() instanceof NoListenerAnswered;
  }

  private static Address parseTo(String text) {
    if (text.isEmpty()) {
      throw invalid("'to' is empty: name the address to reach, e.g. bob@example.com");
    }
    Address to;
    try {
      to = Address.parse(text);
    } catch (IllegalArgumentException e) {
      throw invalid("'to' is not an address: " + e.getMessage());
    }
    if (to.isDomain()) {
      throw invalid("'to' names the domain " + to + "; name a user address, e.g. bob@" + to);
    }
    return to;
  }

  private static void checkBodyChain(Caller caller, List<ByteString> body) {
    if (body.isEmpty()) {
      return;
    }
    if (caller.chainDer().isEmpty() || !body.get(0).equals(caller.chainDer().get(0))) {
      throw invalid("certificate_chain does not start with the TLS client certificate of " + caller.address());
    }
  }

  private static StatusRuntimeException invalid(String what) {
    return Status.INVALID_ARGUMENT.withDescription(what).asRuntimeException();
  }
}
