package org.q2q.server.presence;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.q2q.proto.BindUdpAnswer;
import org.q2q.proto.Heartbeat;
import org.q2q.proto.InboundAnswer;
import org.q2q.proto.InboundQuery;
import org.q2q.proto.ListenDown;
import org.q2q.proto.ListenUp;
import org.q2q.proto.Offer;
import org.q2q.proto.PresenceGrpc;
import org.q2q.proto.Registered;
import org.q2q.proto.ServiceOffer;
import org.q2q.proto.Withdraw;

/**
 * The client side of a Listen stream for tests: records everything the server pushes and answers
 * InboundQuery with a policy (accept, decline, or stay silent: null).
 */
final class TestListener implements StreamObserver<ListenDown> {
  final BlockingQueue<ListenDown> received = new LinkedBlockingQueue<>();
  final BlockingQueue<InboundQuery> queries = new LinkedBlockingQueue<>();
  final CompletableFuture<Status> closed = new CompletableFuture<>();
  volatile Function<InboundQuery, InboundAnswer> policy = q -> InboundAnswer.newBuilder().setAccept(true).build();
  volatile Function<org.q2q.proto.BindUdpQuery, BindUdpAnswer> bindUdpPolicy =
      q -> BindUdpAnswer.getDefaultInstance();
  private final StreamObserver<ListenUp> up;

  TestListener(PresenceGrpc.PresenceStub stub) {
    this.up = stub.listen(this);
  }

  @Override
  public void onNext(ListenDown d) {
    if (d.hasInboundQuery()) {
      queries.add(d.getInboundQuery());
      InboundAnswer a = policy.apply(d.getInboundQuery());
      if (a != null) {
        send(ListenUp.newBuilder().setInboundAnswer(a.toBuilder().setQueryId(d.getInboundQuery().getQueryId())).build());
      }
      return;
    }
    if (d.hasBindUdpQuery()) {
      BindUdpAnswer a = bindUdpPolicy.apply(d.getBindUdpQuery());
      if (a != null) {
        send(ListenUp.newBuilder().setBindUdpAnswer(a.toBuilder().setQueryId(d.getBindUdpQuery().getQueryId())).build());
      }
    }
    received.add(d);
  }

  @Override
  public void onError(Throwable t) {
    closed.complete(Status.fromThrowable(t));
  }

  @Override
  public void onCompleted() {
    closed.complete(Status.OK);
  }

  synchronized void send(ListenUp u) {
    up.onNext(u);
  }

  /** Offers {@code services} and waits for the server's confirmation. */
  Registered offer(String... services) throws InterruptedException {
    Offer.Builder o = Offer.newBuilder();
    for (String s : services) {
      o.addServices(ServiceOffer.newBuilder().setService(s).setDescription("the " + s + " service"));
    }
    send(ListenUp.newBuilder().setOffer(o).build());
    return next(ListenDown.KindCase.REGISTERED).getRegistered();
  }

  Registered withdraw(String... services) throws InterruptedException {
    send(ListenUp.newBuilder().setWithdraw(Withdraw.newBuilder().addAllServices(List.of(services))).build());
    return next(ListenDown.KindCase.REGISTERED).getRegistered();
  }

  Heartbeat heartbeat(long nonce) throws InterruptedException {
    send(ListenUp.newBuilder().setHeartbeat(Heartbeat.newBuilder().setNonce(nonce)).build());
    return next(ListenDown.KindCase.HEARTBEAT).getHeartbeat();
  }

  /** The next pushed message of {@code kind} (others are skipped). */
  ListenDown next(ListenDown.KindCase kind) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (true) {
      ListenDown d = received.poll(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
      assertThat(d).as("a %s from the server", kind).isNotNull();
      if (d.getKindCase() == kind) {
        return d;
      }
    }
  }

  Status awaitClosed() throws Exception {
    return closed.get(10, TimeUnit.SECONDS);
  }

  void complete() {
    up.onCompleted();
  }

  static Duration shortly() {
    return Duration.ofSeconds(10);
  }
}
