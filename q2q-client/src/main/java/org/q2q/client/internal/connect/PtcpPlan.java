package org.q2q.client.internal.connect;

import io.grpc.stub.StreamObserver;
import io.netty.channel.Channel;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BiFunction;
import java.util.function.Consumer;
import org.q2q.client.Route;
import org.q2q.client.internal.accept.UdpTransportAcceptor;
import org.q2q.client.internal.net.Ips;
import org.q2q.client.internal.punch.HolePunch;
import org.q2q.proto.BindUdpRequest;
import org.q2q.proto.BindUdpResponse;
import org.q2q.proto.HostPort;
import org.q2q.proto.PresenceGrpc;

/**
 * PTCP to a listener through NATs (reach): ask the server to have the listener punch toward us
 * (BindUdp, one round trip through the server, which times both sides' probes together as libp2p
 * DCUtR does), punch toward the listener's UDP candidates from our one UDP socket, and open the
 * PTCP connection on the first path that answered an authenticated probe. Then the peer session's
 * TLS with the listener id in Hello (secure). One plan per listener covers all its candidates.
 * Symmetric NATs fail the punch within its bound (about 2 s), leaving the race to the relay.
 * Thread-safe.
 *
 * @param <S> the session type
 */
final class PtcpPlan<S> extends ReachThenSecure<S> {
  private final UdpTransportAcceptor udp;
  private final PresenceGrpc.PresenceStub stub;
  private final String listenerId;
  private final List<HostPort> candidates;
  private final Deadline deadline;
  private final Consumer<String> progress;

  /**
   * @param stub the server that answered Inbound (BindUdp goes there)
   * @param candidates the listener's advertised UDP addresses
   * @param progress each punching step, for {@code -v}
   */
  PtcpPlan(UdpTransportAcceptor udp, PresenceGrpc.PresenceStub stub, String listenerId, List<HostPort> candidates,
      Deadline deadline, Consumer<String> progress, BiFunction<Channel, Route, CompletableFuture<S>> secure) {
    super(new Route(Route.Kind.PTCP, candidates.size() == 1 ? Ips.toString(candidates.get(0))
        : "(" + candidates.size() + " candidates)"), secure);
    this.udp = udp;
    this.stub = stub;
    this.listenerId = listenerId;
    this.candidates = List.copyOf(candidates);
    this.deadline = deadline;
    this.progress = progress;
  }

  @Override
  protected CompletableFuture<Channel> reach() {
    HostPort toUs = udp.preferredCandidate();
    if (toUs == null) {
      return CompletableFuture.failedFuture(new IOException("this client has no UDP candidate to punch from"));
    }
    CompletableFuture<Channel> out = new CompletableFuture<>();
    progress.accept("candidates " + candidates.stream().map(Ips::toString).toList() + "; asking the listener to"
        + " punch toward " + Ips.toString(toUs));
    CompletableFuture<BindUdpResponse> bound = new CompletableFuture<>();
    stub.withDeadlineAfter(Math.max(1, Math.min(5_000, deadline.remainingMillis())), TimeUnit.MILLISECONDS)
        .bindUdp(BindUdpRequest.newBuilder().setListenerId(listenerId).setUdpDestination(toUs).build(),
            new StreamObserver<>() {
              @Override
              public void onNext(BindUdpResponse r) {
                bound.complete(r);
              }

              @Override
              public void onError(Throwable t) {
                bound.completeExceptionally(new IOException("BindUdp failed: "
                    + io.grpc.Status.fromThrowable(t).getDescription(), t));
              }

              @Override
              public void onCompleted() {
                bound.complete(BindUdpResponse.getDefaultInstance());
              }
            });
    java.util.concurrent.atomic.AtomicReference<CompletableFuture<InetSocketAddress>> punching =
        new java.util.concurrent.atomic.AtomicReference<>();
    CompletableFuture<InetSocketAddress> punched = bound.thenCompose(r -> {
      CompletableFuture<InetSocketAddress> p = udp.punch(HolePunch.Role.CONNECTOR, listenerId, candidates, this::report);
      punching.set(p);
      if (out.isDone()) {
        p.cancel(false); // lost the race while BindUdp was on its way
      }
      return p;
    });
    punched.thenCompose(path -> {
      reachedPeer(); // a path answered: the relay need not race the PTCP handshake
      progress.accept("punched " + Route.hostPort(path) + "; opening PTCP");
      return udp.connect(path);
    }).whenComplete((ch, e) -> {
      if (e != null) {
        out.completeExceptionally(e);
      } else if (!out.complete(ch)) {
        ch.close(); // abandoned meanwhile
      }
    });
    out.whenComplete((c, e) -> {
      if (out.isCancelled()) {
        bound.cancel(false);
        CompletableFuture<InetSocketAddress> p = punching.get();
        if (p != null) {
          p.cancel(false); // stops probing: cancelling the composed future would not reach it
        }
      }
    });
    return out;
  }

  private void report(HolePunch.Event e) {
    switch (e.type()) {
      case ROUND -> progress.accept("punch round " + e.round() + ": " + e.count() + " probes");
      case LEARNED -> progress.accept("learned candidate " + Route.hostPort(e.address()));
      case PUNCHED -> progress.accept("path " + Route.hostPort(e.address()) + " answered");
      case FAILED -> progress.accept("punching failed after " + e.round() + " rounds");
      default -> { }
    }
  }

  @Override
  protected Route routeOf(Channel reached) {
    return Route.direct(Route.Kind.PTCP, (InetSocketAddress) reached.remoteAddress());
  }
}
