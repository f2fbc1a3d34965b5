package org.q2q.client.internal.connect;

import com.google.protobuf.ByteString;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import io.netty.channel.EventLoopGroup;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BiFunction;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import org.q2q.certstore.Address;
import org.q2q.certstore.Certificates;
import org.q2q.certstore.Identity;
import org.q2q.client.ChannelResetException;
import org.q2q.client.ConnectFailedException;
import org.q2q.client.Q2qException.Reason;
import org.q2q.client.ConnectionListener;
import org.q2q.client.PeerSessionException;
import org.q2q.client.Route;
import org.q2q.client.Transport;
import org.q2q.client.VirtualChannel;
import org.q2q.client.internal.Futures;
import org.q2q.client.internal.accept.TcpTransportAcceptor;
import org.q2q.client.internal.accept.UdpTransportAcceptor;
import org.q2q.client.internal.cache.SessionCache;
import org.q2q.client.internal.grpc.DomainServers;
import org.q2q.client.internal.peer.PeerSession;
import org.q2q.client.internal.peer.PeerSessions;
import org.q2q.proto.HostPort;
import org.q2q.proto.InboundRequest;
import org.q2q.proto.InboundResponse;
import org.q2q.proto.PresenceGrpc;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code connect(to, service)} (DESIGN.md "Getting connected"), all under one {@link Deadline}:
 *
 * <ol>
 *   <li>reuse the cached peer session with {@code to} (if its route is allowed), or join the
 *       attempt in flight;
 *   <li>otherwise ask {@code to}'s domain server with Inbound (learning and pinning a foreign
 *       domain's CA first), announcing where we accept TCP for reverse connections;
 *   <li>race the listeners' methods ({@link MethodPlanner}, {@link Racer}): direct TCP at once,
 *       reverse TCP waiting, the relay after the soft timeout; the winner's session is cached;
 *   <li>open the channel on the session.
 * </ol>
 *
 * Each step gets the time left; when the deadline passes first the connect fails naming the step
 * it was in. Failures become a {@link ConnectFailedException} whose message names the address,
 * the service and what failed. Thread-safe.
 */
public final class Connector {
  private static final Logger log = LoggerFactory.getLogger(Connector.class);

  /**
   * Timing of a connect.
   *
   * @param softTimeoutMillis between connection method tiers (Happy Eyeballs)
   * @param staggerMillis between a listener's direct addresses
   * @param connectTimeoutMillis the whole connect
   */
  public record Timing(long softTimeoutMillis, long staggerMillis, long connectTimeoutMillis) {}

  private final Identity identity;
  private final DomainServers servers;
  private final PeerSessions sessions;
  private final SessionCache<PeerSession> cache;
  private final TcpTransportAcceptor acceptor;
  private final UdpTransportAcceptor udp;
  private final EventLoopGroup group;
  private final Racer.Scheduler scheduler;
  private final LongSupplier nanoTime;
  private final Timing timing;
  private final ConnectionListener events;
  /** How many times one connect asks Inbound again after its node went away. */
  private static final int MAX_INBOUND_MOVES = 2;

  public Connector(Identity identity, DomainServers servers, PeerSessions sessions, SessionCache<PeerSession> cache,
      TcpTransportAcceptor acceptor, UdpTransportAcceptor udp, EventLoopGroup group, Racer.Scheduler scheduler, LongSupplier nanoTime,
      Timing timing, ConnectionListener events) {
    this.identity = identity;
    this.servers = servers;
    this.sessions = sessions;
    this.cache = cache;
    this.acceptor = acceptor;
    this.udp = udp;
    this.group = group;
    this.scheduler = scheduler;
    this.nanoTime = nanoTime;
    this.timing = timing;
    this.events = events;
  }

  /** Opens a channel to {@code to}'s {@code service} over a route {@code choice} allows. */
  public CompletableFuture<VirtualChannel> connect(Address to, String service, Transport choice) {
    events.connectStart(to, service);
    return withinDeadline(to, service, choice, (s, step) -> {
      step.set("opening a channel to '" + service + "' " + s.route());
      return Futures.of(s.openChannel(service));
    }, VirtualChannel::close).whenComplete((ch, e) -> {
      if (e == null) {
        log.debug("{} channel {} to {}/{} open via {}", identity.address(), ch.id(), to, service, ch.route());
        events.connectEnd(ch);
      } else {
        events.connectFailed(to, service, Futures.unwrap(e));
      }
    });
  }

  /**
   * Builds the peer session a connect to {@code to}'s {@code service} would use, or finds it cached,
   * without opening a channel: a forwarder's first connection then does not wait for it, and an
   * address that cannot be reached is known before anyone connects.
   *
   * @return completes with the session's route, or fails as {@link #connect} does
   */
  public CompletableFuture<Route> prepare(Address to, String service, Transport choice) {
    return withinDeadline(to, service, choice, (s, step) -> CompletableFuture.completedFuture(s.route()), r -> {});
  }

  /**
   * Gets a session to {@code to} and then {@code then}'s result, all within the connect timeout; a
   * result that comes after the deadline is handed to {@code discard}.
   */
  private <T> CompletableFuture<T> withinDeadline(Address to, String service, Transport choice,
      BiFunction<PeerSession, AtomicReference<String>, CompletableFuture<T>> then, Consumer<T> discard) {
    Deadline deadline = Deadline.after(timing.connectTimeoutMillis(), nanoTime);
    AtomicReference<String> step = new AtomicReference<>("looking up the server of " + to.domain());
    CompletableFuture<T> result = new CompletableFuture<>();
    Runnable timer = scheduler.schedule(() -> {
      if (result.completeExceptionally(new ConnectFailedException(Reason.UNREACHABLE, "cannot reach " + to + "/"
          + service + ": no connection within " + deadline.totalMillis() + " ms (while " + step.get() + ")"))) {
        log.info("{} connect to {}/{} timed out while {}", identity.address(), to, service, step.get());
      }
    }, deadline.remainingMillis());
    session(to, service, choice, deadline, step)
        .thenCompose(s -> then.apply(s, step))
        .whenComplete((value, e) -> {
          timer.run();
          if (e != null) {
            result.completeExceptionally(describe(to, service, Futures.unwrap(e)));
          } else if (!result.complete(value)) {
            discard.accept(value); // the deadline passed just before: nobody will use it
          }
        });
    return result;
  }

  private CompletableFuture<PeerSession> session(Address to, String service, Transport choice, Deadline deadline,
      AtomicReference<String> step) {
    Optional<PeerSession> cached = cache.get(to);
    if (cached.isPresent() && !choice.allows(cached.get().route().kind())) {
      // The cached session takes a route this connect may not use: make one of its own.
      return establish(to, service, choice, deadline, step).thenApply(s -> {
        cache.put(to, s); // kept only if the other one is gone; else it serves this connect alone
        return s;
      });
    }
    boolean[] reused = new boolean[1];
    CompletableFuture<PeerSession> s = cache.getOrConnect(to, () -> establish(to, service, choice, deadline, step),
        j -> reused[0] = j);
    if (reused[0]) {
      s = s.thenApply(session -> {
        events.sessionReused(to, session.route());
        return session;
      });
    }
    return s;
  }

  private CompletableFuture<PeerSession> establish(Address to, String service, Transport choice, Deadline deadline,
      AtomicReference<String> step) {
    return servers.server(to.domainAddress(), deadline.remainingMillis())
        .thenCompose(server -> {
          step.set("asking the server of " + to.domain() + " at " + server.address() + " (Inbound)");
          // Our UDP candidates should include the NAT's mapping: STUN takes one round trip.
          CompletableFuture<Void> settled = choice.allows(Route.Kind.PTCP) && udp.listening()
              ? udp.candidatesSettled(Math.min(STUN_WAIT_MILLIS, deadline.remainingMillis()))
              : CompletableFuture.completedFuture(null);
          return settled.thenCompose(v -> inbound(server, to, service, choice, deadline))
              .thenCompose(resp -> {
                step.set("connecting to " + to + " (racing the methods of " + resp.getListenersCount() + " listener(s))");
                return race(server, to, resp, choice, deadline);
              });
        });
  }

  private CompletableFuture<InboundResponse> inbound(DomainServers.Server server, Address to, String service,
      Transport choice, Deadline deadline) {
    InboundRequest.Builder req = InboundRequest.newBuilder().setTo(to.toString()).setService(service);
    for (X509Certificate c : identity.chain()) {
      req.addCertificateChain(ByteString.copyFrom(Certificates.toDer(c)));
    }
    if (choice.allows(Route.Kind.REVERSE_TCP) && acceptor.listening()) {
      List<HostPort> mine = acceptor.ownCandidates();
      req.addAllTcpCandidates(mine.subList(0, Math.min(mine.size(), MAX_CANDIDATES)));
    }
    if (choice.allows(Route.Kind.PTCP) && udp.listening()) {
      List<HostPort> mine = udp.ownCandidates();
      req.addAllUdpCandidates(mine.subList(0, Math.min(mine.size(), MAX_CANDIDATES)));
    }
    CompletableFuture<InboundResponse> f = new CompletableFuture<>();
    inboundOnce(server, req.build(), deadline, MAX_INBOUND_MOVES, f);
    return f.thenApply(r -> {
      events.inboundAnswered(to, service, r.getListenersCount());
      return r;
    });
  }

  private CompletableFuture<PeerSession> race(DomainServers.Server server, Address to, InboundResponse resp,
      Transport choice, Deadline deadline) {
    ConnectMethod.Secure<PeerSession> secure = (ch, route, listenerId) -> sessions.initiate(ch, to, listenerId, route);
    List<ConnectMethod<PeerSession>> methods = new ArrayList<>();
    methods.add(new TcpConnectMethod<>(group, deadline, secure));
    if (acceptor.listening()) {
      methods.add(new ReverseTcpConnectMethod<>(acceptor, secure));
    }
    if (udp.listening()) {
      methods.add(new PtcpConnectMethod<>(udp, PresenceGrpc.newStub(server.channel()), deadline,
          (route, step) -> events.attemptProgress(to, route, step), secure));
    }
    methods.add(new RelayConnectMethod<>(node -> PresenceGrpc.newStub(servers.channelTo(server, node)), server.loopOr(group),
        server.address(), () -> servers.relaySocketTls(server), secure));
    MethodPlanner.Planned<PeerSession> planned = MethodPlanner.plan(resp.getListenersList(),
        timing.softTimeoutMillis(), timing.staggerMillis(), methods, choice);
    Racer<PeerSession> racer = new Racer<>(planned.entries(), planned.skipped(), deadline.remainingMillis(), scheduler,
        new Racer.Events() {
          @Override
          public void started(Route route) {
            events.attemptStart(to, route);
          }

          @Override
          public void failed(Route route, Throwable cause) {
            events.attemptFailed(to, route, cause);
          }

          @Override
          public void won(Route route) {
            events.attemptWon(to, route);
          }
        },
        PeerSession::close);
    return racer.run().thenApply(w -> {
      log.info("{} session with {} established via {}", identity.address(), to, w.value().route());
      return w.value();
    });
  }

  /**
   * One Inbound call; when the node went away under it (UNAVAILABLE from the transport, not the
   * server's own "no listener answered"), again on the channel, which has moved to another node
   * of the domain by then, at most {@code movesLeft} more times within the deadline.
   */
  private void inboundOnce(DomainServers.Server server, InboundRequest req, Deadline deadline, int movesLeft,
      CompletableFuture<InboundResponse> f) {
    PresenceGrpc.newStub(server.channel())
        .withDeadlineAfter(deadline.remainingMillis(), TimeUnit.MILLISECONDS)
        .inbound(req, new StreamObserver<>() {
          @Override
          public void onNext(InboundResponse value) {
            f.complete(value);
          }

          @Override
          public void onError(Throwable t) {
            if (movesLeft > 0 && deadline.remainingMillis() > 0 && nodeWentAway(server, t)) {
              log.info("{} Inbound for {}: the node at {} went away ({}); asking another node of {}", identity.address(),
                  req.getTo(), server.address(), Status.fromThrowable(t).getCode(), server.domain());
              inboundOnce(server, req, deadline, movesLeft - 1, f);
              return;
            }
            f.completeExceptionally(new InboundFailed(server, t));
          }

          @Override
          public void onCompleted() {
            f.complete(InboundResponse.getDefaultInstance()); // no-op if onNext came first
          }
        });
  }

  /**
   * Whether {@code t} says the node itself went away: UNAVAILABLE raised by the transport (it
   * carries the local cause) or with the channel's connection gone, rather than an answer of the
   * server (which cannot carry a cause, and leaves the connection up).
   */
  private static boolean nodeWentAway(DomainServers.Server server, Throwable t) {
    Status s = Status.fromThrowable(t);
    if (s.getCode() != Status.Code.UNAVAILABLE) {
      return false;
    }
    return s.getCause() != null || server.channel().getState(false) != io.grpc.ConnectivityState.READY;
  }

  /** Thrown when Inbound fails; carries the server for the message. */
  private static final class InboundFailed extends Exception {
    private static final long serialVersionUID = 1L;
    final transient DomainServers.Server server;

    InboundFailed(DomainServers.Server server, Throwable cause) {
      super(cause);
      this.server = server;
    }
  }

  private ConnectFailedException describe(Address to, String service, Throwable e) {
    if (e instanceof ConnectFailedException c) {
      return c;
    }
    String what = to + "/" + service;
    if (e instanceof InboundFailed inf) {
      Status s = Status.fromThrowable(inf.getCause());
      String d = s.getDescription() == null ? s.getCode().toString() : s.getDescription();
      return switch (s.getCode()) {
        case NOT_FOUND -> new ConnectFailedException(Reason.NOT_FOUND, "cannot reach " + what + ": " + d, e.getCause());
        case PERMISSION_DENIED -> new ConnectFailedException(Reason.PERMISSION,
            "cannot reach " + what + ": " + d, e.getCause());
        case INVALID_ARGUMENT -> new ConnectFailedException(Reason.INVALID, "cannot reach " + what + ": " + d, e.getCause());
        case UNAUTHENTICATED -> new ConnectFailedException(Reason.TRUST,
            "cannot reach " + what + ": the server of " + to.domain() + " does not accept our certificate: " + d, e.getCause());
        case DEADLINE_EXCEEDED -> new ConnectFailedException(Reason.UNREACHABLE,
            "cannot reach " + what + ": the server of " + to.domain() + " at " + inf.server.address()
                + " did not answer in time", e.getCause());
        default -> {
          if (inf.getCause() instanceof StatusRuntimeException sre) {
            org.q2q.client.Q2qException q = org.q2q.client.Q2qException.fromStatus(sre, inf.server.address(), "Inbound");
            yield new ConnectFailedException(q.reason(), "cannot reach " + what + ": " + q.getMessage(), sre);
          }
          yield new ConnectFailedException(Reason.UNREACHABLE, "cannot reach " + what + ": the server of "
              + to.domain() + " at " + inf.server.address() + " failed: " + s.getCode(), e.getCause());
        }
      };
    }
    if (e instanceof RaceFailedException r) {
      ConnectFailedException c = new ConnectFailedException(Reason.UNREACHABLE,
          "cannot reach " + what + ": " + r.getMessage(), r);
      for (Throwable s : r.getSuppressed()) {
        c.addSuppressed(s);
      }
      return c;
    }
    if (e instanceof ChannelResetException cr) {
      return switch (cr.code()) {
        case NO_SUCH_SERVICE -> new ConnectFailedException(Reason.NOT_FOUND,
            "cannot reach " + what + ": the peer has no listener for '" + service + "'", e);
        case REFUSED -> new ConnectFailedException(Reason.PERMISSION,
            "cannot reach " + what + ": the listener refused the channel", e);
        default -> new ConnectFailedException(Reason.UNREACHABLE, "cannot reach " + what + ": " + e.getMessage(), e);
      };
    }
    if (e instanceof PeerSessionException ps) {
      return new ConnectFailedException(ps.code() == org.q2q.client.Q2qErrorCode.WRONG_PEER ? Reason.TRUST
          : Reason.UNREACHABLE, "cannot reach " + what + ": " + e.getMessage(), e);
    }
    if (e instanceof StatusRuntimeException sre) {
      return new ConnectFailedException(Reason.UNREACHABLE, "cannot reach " + what + ": " + sre.getStatus(), e);
    }
    if (e instanceof IllegalStateException ise && "the client is closed".equals(ise.getMessage())) {
      return new ConnectFailedException(Reason.LOCAL, "cannot reach " + what + ": the client is closed", e);
    }
    return new ConnectFailedException(Reason.UNREACHABLE, "cannot reach " + what + ": "
        + (e.getMessage() == null ? e.toString() : e.getMessage()), e);
  }

  /** How long a connect waits for the first STUN answer before it sends its candidates anyway. */
  static final long STUN_WAIT_MILLIS = 500;

  /** Candidates we announce in Inbound at most (the server's bound). */
  static final int MAX_CANDIDATES = 16;
}
