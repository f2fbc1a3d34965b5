package org.q2q.server.presence;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.ManagedChannel;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.q2q.certstore.Identity;
import org.q2q.proto.InboundRequest;
import org.q2q.proto.ListenDown;
import org.q2q.proto.PresenceGrpc;
import org.q2q.proto.RelayRole;
import org.q2q.server.LoopbackServer;
import org.q2q.server.presence.RelayPeer.PatternSource;

/** The relay through a real PresenceServer over TLS on 127.0.0.1: bulk integrity and bounded buffering. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class RelayNetworkTest {
  private static final int CHUNK = 32 << 10;
  private LoopbackServer server;
  private TlsChannels channels;
  private PresenceGrpc.PresenceStub alice;
  private PresenceGrpc.PresenceStub bob;

  @BeforeEach
  void start() throws Exception {
    server = LoopbackServer.start("example.com", b -> {});
    channels = new TlsChannels();
    Identity a = server.issueIdentity("alice@example.com");
    Identity b = server.issueIdentity("bob@example.com");
    ManagedChannel ac = channels.open(server.server(), a);
    ManagedChannel bc = channels.open(server.server(), b);
    alice = PresenceGrpc.newStub(ac);
    bob = PresenceGrpc.newStub(bc);
  }

  @AfterEach
  void stop() throws Exception {
    channels.close();
    server.close();
  }

  private RelayPeer[] splice() throws Exception {
    TestListener listener = new TestListener(bob);
    listener.offer("file");
    String id = PresenceGrpc.newBlockingStub(channels.open(server.server(), server.issueIdentity("alice@example.com")))
        .withDeadlineAfter(20, TimeUnit.SECONDS)
        .inbound(InboundRequest.newBuilder().setTo("bob@example.com").setService("file").build())
        .getListeners(0).getId();
    RelayPeer connector = RelayPeer.open(alice, id, RelayRole.RELAY_ROLE_CONNECTOR);
    assertThat(listener.next(ListenDown.KindCase.RELAY_OPEN).getRelayOpen().getListenerId()).isEqualTo(id);
    RelayPeer accepted = RelayPeer.open(bob, id, RelayRole.RELAY_ROLE_LISTENER);
    connector.awaitSpliced();
    accepted.awaitSpliced();
    return new RelayPeer[] {connector, accepted};
  }

  @Test
  void sixtyFourMebibytesCrossTheRelayIntactBothWays() throws Exception {
    RelayPeer[] p = splice();
    PatternSource up = new PatternSource(11);
    PatternSource down = new PatternSource(12);
    long upBytes = 64L << 20;
    long downBytes = 8L << 20;
    CompletableFuture<Void> sendUp = CompletableFuture.runAsync(() -> send(p[0], up, upBytes));
    CompletableFuture<Void> sendDown = CompletableFuture.runAsync(() -> send(p[1], down, downBytes));
    sendUp.get(90, TimeUnit.SECONDS);
    sendDown.get(90, TimeUnit.SECONDS);
    Await.until(Duration.ofSeconds(60), "all bytes delivered", () ->
        p[1].receivedBytes.get() == upBytes && p[0].receivedBytes.get() == downBytes);
    assertThat(p[1].sha256()).isEqualTo(up.sha256());
    assertThat(p[0].sha256()).isEqualTo(down.sha256());
    p[0].halfClose();
    assertThat(p[1].awaitClosed().isOk()).isTrue();
    assertThat(p[0].awaitClosed().isOk()).isTrue();
    RelayStats stats = server.server().presence().relayStats();
    assertThat(stats.bytesRelayed()).isEqualTo(upBytes + downBytes);
    // the relay queued at most its window of 4 frames per direction at any time
    assertThat(stats.bytesInFlightHighWater()).isLessThanOrEqualTo(2 * 4L * CHUNK);
    Await.until(Duration.ofSeconds(5), "streams released", () ->
        server.server().presence().relayStats().activeStreams() == 0);
  }

  @Test
  void aStalledReceiverBlocksTheSenderAndTheRelayQueuesAtMostItsWindow() throws Exception {
    RelayPeer[] p = splice();
    p[1].stall();
    PatternSource source = new PatternSource(21);
    long total = 64L << 20;
    CompletableFuture<Void> sender = CompletableFuture.runAsync(() -> send(p[0], source, total));
    long sentWhenBlocked = Await.steady(Duration.ofSeconds(30), Duration.ofMillis(500),
        "the sender blocked by flow control", p[0]::blockedOnFlowControl, p[0].sentBytes::get);
    RelayStats stats = server.server().presence().relayStats();
    System.out.printf("stalled receiver: sender blocked after %d bytes; relay in flight %d, high water %d%n",
        sentWhenBlocked, stats.bytesInFlight(), stats.bytesInFlightHighWater());
    // what the sender could push is bounded by the HTTP/2 windows of the two hops, not by 64 MiB
    assertThat(sentWhenBlocked).isLessThan(16L << 20);
    assertThat(stats.bytesInFlight()).isLessThanOrEqualTo(4L * CHUNK);
    assertThat(stats.bytesInFlightHighWater()).isLessThanOrEqualTo(4L * CHUNK);

    p[1].resume();
    sender.get(90, TimeUnit.SECONDS);
    Await.until(Duration.ofSeconds(60), "all bytes delivered", () -> p[1].receivedBytes.get() == total);
    assertThat(p[1].sha256()).isEqualTo(source.sha256());
    assertThat(server.server().presence().relayStats().bytesInFlightHighWater()).isLessThanOrEqualTo(4L * CHUNK);
  }

  private static void send(RelayPeer peer, PatternSource source, long total) {
    try {
      peer.sendAll(source, total, CHUNK, Duration.ofSeconds(60));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
