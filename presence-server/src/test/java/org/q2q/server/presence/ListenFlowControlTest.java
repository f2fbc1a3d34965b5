package org.q2q.server.presence;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.q2q.proto.Heartbeat;
import org.q2q.proto.InboundRequest;
import org.q2q.proto.ListenDown;
import org.q2q.proto.ListenUp;
import org.q2q.proto.Offer;
import org.q2q.proto.PresenceGrpc;
import org.q2q.proto.ServiceOffer;
import org.q2q.server.LoopbackServer;
import org.q2q.server.PresenceServer;

/**
 * C1: a Listen client that never reads, over real TLS on 127.0.0.1. It costs the server a bounded
 * amount, then loses its stream with a clear status, while another user is served as usual.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ListenFlowControlTest {
  private static final long BUDGET = 16 << 10;
  private LoopbackServer server;
  private final TlsChannels channels = new TlsChannels();

  @AfterEach
  void stop() throws Exception {
    channels.close();
    if (server != null) {
      server.close();
    }
  }

  private PresenceServer start(Duration stall) throws Exception {
    server = LoopbackServer.start("example.com", b -> b
        .presence(PresenceConfig.defaults().withFederation(null).withInboundAnswerTimeout(Duration.ofMillis(300)))
        .listenLimits(ListenLimits.defaults().withOutbound(BUDGET, 1 << 20, stall)));
    return server.server();
  }

  /** A Listen call whose client never asks for a message (so its flow-control window fills). */
  private static final class NonReader extends ClientCall.Listener<ListenDown> {
    final CompletableFuture<Status> closed = new CompletableFuture<>();
    final ClientCall<ListenUp, ListenDown> call;

    NonReader(ManagedChannel ch) {
      call = ch.newCall(PresenceGrpc.getListenMethod(), CallOptions.DEFAULT);
      call.start(this, new Metadata()); // no request(n): nothing is ever read
    }

    @Override
    public void onClose(Status status, Metadata trailers) {
      closed.complete(status);
    }

    void send(ListenUp up) {
      call.sendMessage(up);
    }
  }

  private NonReader nonReader(PresenceServer s, String address) throws Exception {
    ManagedChannel ch = channels.open(s, server.issueIdentity(address), b -> b.flowControlWindow(64 << 10));
    return new NonReader(ch);
  }

  @Test
  void aListenerThatOffersInALoopWithoutReadingLosesItsStreamAndOthersAreServed() throws Exception {
    PresenceServer s = start(Duration.ofSeconds(2));
    TestListener carol = new TestListener(PresenceGrpc.newStub(channels.open(s, server.issueIdentity("carol@example.com"))));
    carol.offer("file");
    NonReader bob = nonReader(s, "bob@example.com");
    Offer.Builder big = Offer.newBuilder();
    for (int i = 0; i < 256; i++) {
      big.addServices(ServiceOffer.newBuilder().setService(String.format("%064d", i)));
    }
    bob.send(ListenUp.newBuilder().setOffer(big).build());
    Await.until(Duration.ofSeconds(10), "bob's stream", () -> s.presence().listenSessions() == 2);
    ListenUp small = ListenUp.newBuilder().setOffer(Offer.newBuilder().addServices(ServiceOffer.newBuilder()
        .setService(String.format("%064d", 0)))).build();
    // each small offer used to queue a 17 KB Registered: 20,000 of them about 340 MB
    // the stall clock is 2 s; the rest is room for a machine busy with other work (it once took > 20 s)
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(40);
    long maxWaiting = 0;
    long nonce = 0;
    int sent = 0;
    while (s.presence().listenSessions() > 1 && System.nanoTime() < deadline) {
      for (int i = 0; i < 500; i++) {
        bob.send(small);
        bob.send(ListenUp.newBuilder().setHeartbeat(Heartbeat.newBuilder().setNonce(i)).build());
      }
      sent += 500;
      maxWaiting = Math.max(maxWaiting, s.presence().listenBytesWaiting());
      long t0 = System.nanoTime();
      assertThat(carol.heartbeat(++nonce).getNonce()).isEqualTo(nonce);
      assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0)).as("carol's heartbeat round trip").isLessThan(2000);
      Thread.sleep(20); // let the stall clock run; bob keeps sending
    }
    assertThat(s.presence().listenSessions()).as("bob's stream ended after %d offers", sent).isEqualTo(1);
    assertThat(maxWaiting).isLessThanOrEqualTo(BUDGET);
    StatusRuntimeException e = org.junit.jupiter.api.Assertions.assertThrows(StatusRuntimeException.class,
        () -> PresenceGrpc.newBlockingStub(channels.open(s, server.issueIdentity("alice@example.com")))
            .withDeadlineAfter(10, TimeUnit.SECONDS)
            .inbound(InboundRequest.newBuilder().setTo("bob@example.com").setService(String.format("%064d", 0)).build()));
    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND);
    // once bob reads again, he learns why
    bob.call.request(Integer.MAX_VALUE);
    Status why = bob.closed.get(10, TimeUnit.SECONDS);
    assertThat(why.getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
    assertThat(why.getDescription()).contains("did not read");
    assertThat(carol.heartbeat(++nonce).getNonce()).isEqualTo(nonce);
  }

  @Test
  void queriesPastTheOutboundBudgetEndTheStreamOfAListenerThatDoesNotRead() throws Exception {
    PresenceServer s = start(Duration.ofSeconds(30)); // the stall timeout does not come into play
    NonReader bob = nonReader(s, "bob@example.com");
    bob.send(ListenUp.newBuilder().setOffer(Offer.newBuilder().addServices(ServiceOffer.newBuilder()
        .setService("file"))).build());
    Await.until(Duration.ofSeconds(10), "bob's stream", () -> s.presence().listenSessions() == 1);
    PresenceGrpc.PresenceStub alice = PresenceGrpc.newStub(channels.open(s, server.issueIdentity("alice@example.com")));
    AtomicLong maxWaiting = new AtomicLong();
    List<CompletableFuture<Void>> calls = new ArrayList<>();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    // every Inbound pushes bob an InboundQuery he never reads (alice's chain in each, about 1 KB)
    while (s.presence().listenSessions() > 0 && System.nanoTime() < deadline) {
      for (int i = 0; i < 50; i++) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        alice.inbound(InboundRequest.newBuilder().setTo("bob@example.com").setService("file").build(),
            new io.grpc.stub.StreamObserver<>() {
              @Override
              public void onNext(org.q2q.proto.InboundResponse r) {}

              @Override
              public void onError(Throwable t) {
                done.complete(null);
              }

              @Override
              public void onCompleted() {
                done.complete(null);
              }
            });
        calls.add(done);
      }
      maxWaiting.accumulateAndGet(s.presence().listenBytesWaiting(), Math::max);
      Thread.sleep(20);
    }
    assertThat(s.presence().listenSessions()).as("bob's stream ended").isZero();
    assertThat(maxWaiting.get()).isLessThanOrEqualTo(BUDGET);
    assertThat(s.presence().listenBytesWaiting()).isZero();
    CompletableFuture.allOf(calls.toArray(CompletableFuture[]::new)).get(20, TimeUnit.SECONDS);
    bob.call.request(Integer.MAX_VALUE);
    Status why = bob.closed.get(10, TimeUnit.SECONDS);
    assertThat(why.getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
    assertThat(why.getDescription()).contains("does not read");
  }
}
