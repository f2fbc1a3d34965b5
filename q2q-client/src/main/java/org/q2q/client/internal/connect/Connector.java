package org.q2q.client.internal.connect;

import com.google.protobuf.ByteString;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import io.netty.channel.EventLoopGroup;
import java.security.cert.X509Certificate;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.q2q.certstore.Address;
import org.q2q.certstore.Certificates;
import org.q2q.certstore.Identity;
import org.q2q.client.ChannelResetException;
import org.q2q.client.ConnectFailedException;
import org.q2q.client.Q2qException.Reason;
import org.q2q.client.ConnectionListener;
import org.q2q.client.PeerSessionException;
import org.q2q.client.VirtualChannel;
import org.q2q.client.internal.cache.SessionCache;
import org.q2q.client.internal.peer.PeerSession;
import org.q2q.proto.InboundRequest;
import org.q2q.proto.InboundResponse;
import org.q2q.proto.PresenceGrpc;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code connect(to, service)} (DESIGN.md "Getting connected"):
 *
 * <ol>
 *   <li>reuse the cached peer session with {@code to}, or join the attempt in flight;
 *   <li>otherwise ask {@code to}'s domain server with Inbound (learning and pinning a foreign
 *       domain's CA first);
 *   <li>race the listeners' methods ({@link MethodPlanner}, {@link Racer}); the winner's session
 *       is cached;
 *   <li>open the channel on the session.
 * </ol>
 *
 * Failures become a {@link ConnectFailedException} whose message names the address, the service
 * and what failed. Thread-safe.
 */
public final class Connector {
  private static final Logger log = LoggerFactory.getLogger(Connector.class);

  /** Timing of a connect. */
  public record Timing(long softTimeoutMillis, long hardTimeoutMillis, long inboundTimeoutMillis) {}

  private final Identity identity;
  private final DomainServers servers;
  private final PeerSessions sessions;
  private final SessionCache<PeerSession> cache;
  private final EventLoopGroup group;
  private final Timing timing;
  private final ConnectionListener events;

  public Connector(Identity identity, DomainServers servers, PeerSessions sessions, SessionCache<PeerSession> cache,
      EventLoopGroup group, Timing timing, ConnectionListener events) {
    this.identity = identity;
    this.servers = servers;
    this.sessions = sessions;
    this.cache = cache;
    this.group = group;
    this.timing = timing;
    this.events = events;
  }

  /** Opens a channel to {@code to}'s {@code service}. */
  public CompletableFuture<VirtualChannel> connect(Address to, String service) {
    events.connectStart(to, service);
    CompletableFuture<VirtualChannel> result = session(to, service)
        .thenCompose(s -> Futures.of(s.openChannel(service)))
        .handle((ch, e) -> {
          if (e != null) {
            throw new java.util.concurrent.CompletionException(describe(to, service, Futures.unwrap(e)));
          }
          return ch;
        });
    result.whenComplete((ch, e) -> {
      if (e == null) {
        log.debug("{} channel {} to {}/{} open via {}", identity.address(), ch.id(), to, service, ch.transport());
        events.connectEnd(ch);
      } else {
        events.connectFailed(to, service, Futures.unwrap(e));
      }
    });
    return result;
  }

  private CompletableFuture<PeerSession> session(Address to, String service) {
    boolean[] reused = new boolean[1];
    CompletableFuture<PeerSession> s = cache.getOrConnect(to, () -> establish(to, service), j -> reused[0] = j);
    if (reused[0]) {
      s = s.thenApply(session -> {
        events.sessionReused(to, session.transport());
        return session;
      });
    }
    return s;
  }

  private CompletableFuture<PeerSession> establish(Address to, String service) {
    return servers.server(to.domainAddress())
        .thenCompose(server -> inbound(server, to, service)
            .thenCompose(resp -> race(server, to, service, resp)));
  }

  private CompletableFuture<InboundResponse> inbound(DomainServers.Server server, Address to, String service) {
    InboundRequest.Builder req = InboundRequest.newBuilder().setTo(to.toString()).setService(service);
    for (X509Certificate c : identity.chain()) {
      req.addCertificateChain(ByteString.copyFrom(Certificates.toDer(c)));
    }
    CompletableFuture<InboundResponse> f = new CompletableFuture<>();
    PresenceGrpc.newStub(server.channel())
        .withDeadlineAfter(timing.inboundTimeoutMillis(), TimeUnit.MILLISECONDS)
        .inbound(req.build(), new StreamObserver<>() {
          @Override
          public void onNext(InboundResponse value) {
            f.complete(value);
          }

          @Override
          public void onError(Throwable t) {
            f.completeExceptionally(new InboundFailed(server, t));
          }

          @Override
          public void onCompleted() {
            f.complete(InboundResponse.getDefaultInstance()); // no-op if onNext came first
          }
        });
    return f.thenApply(r -> {
      events.inboundAnswered(to, service, r.getListenersCount());
      return r;
    });
  }

  private CompletableFuture<PeerSession> race(DomainServers.Server server, Address to, String service, InboundResponse resp) {
    PresenceGrpc.PresenceStub stub = PresenceGrpc.newStub(server.channel());
    MethodPlanner.Planned<PeerSession> planned = MethodPlanner.plan(resp.getListenersList(), timing.softTimeoutMillis(),
        l -> new RelayPlan<>(stub, server.loopOr(group), l.getId(), server.address().toString(),
            ch -> sessions.initiate(ch, to, l.getId(), "relay")));
    Racer<PeerSession> racer = new Racer<>(planned.entries(), planned.skipped(), timing.hardTimeoutMillis(),
        (task, delay) -> {
          var f = group.next().schedule(task, delay, TimeUnit.MILLISECONDS);
          return () -> f.cancel(false);
        },
        new Racer.Events() {
          @Override
          public void started(String method) {
            events.attemptStart(to, method);
          }

          @Override
          public void failed(String method, Throwable cause) {
            events.attemptFailed(to, method, cause);
          }

          @Override
          public void won(String method) {
            events.attemptWon(to, method);
          }
        },
        PeerSession::close);
    return racer.run().thenApply(w -> {
      log.info("{} session with {} established: {}", identity.address(), to, w.method());
      return w.value();
    });
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

  /** The connect hard timeout, for callers bounding the whole operation. */
  public long hardTimeoutMillis() {
    return timing.hardTimeoutMillis();
  }
}
