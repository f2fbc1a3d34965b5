package org.q2q.server.presence;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.Status;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.q2q.proto.InboundRequest;
import org.q2q.proto.ListenDown;
import org.q2q.proto.RelayOpen;
import org.q2q.proto.RelayRole;

/** The relay on the in-process transport: rendezvous, splice, half-close, refusals, limits. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class RelaySpliceTest {
  private PresenceHarness h;

  @AfterEach
  void stop() throws Exception {
    if (h != null) {
      h.close();
    }
  }

  private void start(PresenceConfig config) throws Exception {
    h = new PresenceHarness(config);
  }

  private String listenerId(TestListener bob) {
    return h.blocking("alice@example.com")
        .inbound(InboundRequest.newBuilder().setTo("bob@example.com").setService("file").build())
        .getListeners(0).getId();
  }

  /** The two spliced sides of a fresh relay alice -> bob/file. */
  private record Pair(RelayPeer connector, RelayPeer listener, String id, TestListener bob) {}

  private Pair splice() throws Exception {
    TestListener bob = h.listen("bob@example.com");
    bob.offer("file");
    return splice(bob);
  }

  private Pair splice(TestListener bob) throws Exception {
    String id = listenerId(bob);
    RelayPeer alice = RelayPeer.open(h.stub("alice@example.com"), id, RelayRole.RELAY_ROLE_CONNECTOR);
    RelayOpen open = bob.next(ListenDown.KindCase.RELAY_OPEN).getRelayOpen();
    assertThat(open.getListenerId()).isEqualTo(id);
    assertThat(open.getFrom()).isEqualTo("alice@example.com");
    assertThat(open.getService()).isEqualTo("file");
    RelayPeer bobSide = RelayPeer.open(h.stub("bob@example.com"), id, RelayRole.RELAY_ROLE_LISTENER);
    alice.awaitSpliced();
    bobSide.awaitSpliced();
    return new Pair(alice, bobSide, id, bob);
  }

  @Test
  void bytesMoveBothWaysAndHalfCloseReachesTheOtherSide() throws Exception {
    start(PresenceConfig.defaults());
    Pair p = splice();
    p.connector().send("hello bob".getBytes(StandardCharsets.UTF_8));
    p.listener().send("hello alice".getBytes(StandardCharsets.UTF_8));
    Await.until(Duration.ofSeconds(5), "both greetings", () ->
        p.listener().receivedBytes.get() == 9 && p.connector().receivedBytes.get() == 11);
    assertThat(new String(p.listener().firstBytes(), StandardCharsets.UTF_8)).isEqualTo("hello bob");
    assertThat(new String(p.connector().firstBytes(), StandardCharsets.UTF_8)).isEqualTo("hello alice");

    p.connector().send("bye".getBytes(StandardCharsets.UTF_8));
    p.connector().halfClose();
    assertThat(p.listener().awaitClosed().isOk()).isTrue();
    assertThat(new String(p.listener().firstBytes(), StandardCharsets.UTF_8)).isEqualTo("hello bobbye");
    assertThat(p.connector().awaitClosed().isOk()).isTrue();
    Await.until(Duration.ofSeconds(5), "streams released", () -> h.service.relayStats().activeStreams() == 0);
    assertThat(h.service.relayStats().bytesInFlight()).isZero();
    assertThat(h.service.relayStats().bytesRelayed()).isEqualTo(9 + 11 + 3);
  }

  @Test
  void theTapSeesExactlyTheRelayedBytes() throws Exception {
    List<String> seen = new ArrayList<>();
    start(PresenceConfig.defaults().withRelayTap((id, role, data) ->
        seen.add(role + ":" + data.toStringUtf8())));
    Pair p = splice();
    p.connector().send("abc".getBytes(StandardCharsets.UTF_8));
    Await.until(Duration.ofSeconds(5), "delivery", () -> p.listener().receivedBytes.get() == 3);
    p.listener().send("xyz".getBytes(StandardCharsets.UTF_8));
    Await.until(Duration.ofSeconds(5), "delivery", () -> p.connector().receivedBytes.get() == 3);
    assertThat(seen).containsExactly("RELAY_ROLE_CONNECTOR:abc", "RELAY_ROLE_LISTENER:xyz");
  }

  @Test
  void cancellingOneSideCancelsTheOtherWithAClearStatus() throws Exception {
    start(PresenceConfig.defaults());
    Pair p = splice();
    p.listener().cancel();
    Status s = p.connector().awaitClosed();
    assertThat(s.getCode()).isEqualTo(Status.Code.CANCELLED);
    assertThat(s.getDescription()).contains("listener").contains("bob@example.com").contains("left");
    Await.until(Duration.ofSeconds(5), "streams released", () -> h.service.relayStats().activeStreams() == 0);
  }

  @Test
  void serverShutdownEndsRelaysWithUnavailable() throws Exception {
    start(PresenceConfig.defaults());
    Pair spliced = splice(); // its bob keeps listening on his stream
    TestListener carol = h.listen("carol@example.com");
    carol.offer("file");
    String id = h.blocking("alice@example.com")
        .inbound(InboundRequest.newBuilder().setTo("carol@example.com").setService("file").build())
        .getListeners(0).getId();
    RelayPeer waiting = RelayPeer.open(h.stub("alice@example.com"), id, RelayRole.RELAY_ROLE_CONNECTOR);
    carol.next(ListenDown.KindCase.RELAY_OPEN);
    h.service.close();
    for (RelayPeer p : new RelayPeer[] {spliced.connector(), spliced.listener(), waiting}) {
      Status s = p.awaitClosed();
      assertThat(s.getCode()).isEqualTo(Status.Code.UNAVAILABLE);
      assertThat(s.getDescription()).contains("shutting down");
    }
    Await.until(Duration.ofSeconds(5), "streams released", () -> h.service.relayStats().activeStreams() == 0);
  }

  @Test
  void anIdCanBeUsedOnlyOnce() throws Exception {
    start(PresenceConfig.defaults());
    Pair p = splice();
    RelayPeer again = RelayPeer.open(h.stub("alice@example.com"), p.id(), RelayRole.RELAY_ROLE_CONNECTOR);
    Status s = again.awaitClosed();
    assertThat(s.getCode()).isEqualTo(Status.Code.NOT_FOUND);
    assertThat(s.getDescription()).contains("unknown or was already used");
    // and the listener side cannot join twice either
    RelayPeer second = RelayPeer.open(h.stub("bob@example.com"), p.id(), RelayRole.RELAY_ROLE_LISTENER);
    assertThat(second.awaitClosed().getCode()).isEqualTo(Status.Code.NOT_FOUND);
  }

  @Test
  void unknownWrongCallerAndExpiredIdsAreRefused() throws Exception {
    start(PresenceConfig.defaults());
    TestListener bob = h.listen("bob@example.com");
    bob.offer("file");

    RelayPeer guess = RelayPeer.open(h.stub("alice@example.com"), "AAAAAAAAAAAAAAAAAAAAAA", RelayRole.RELAY_ROLE_CONNECTOR);
    assertThat(guess.awaitClosed().getCode()).isEqualTo(Status.Code.NOT_FOUND);

    String id = listenerId(bob);
    RelayPeer thief = RelayPeer.open(h.stub("mallory@example.com"), id, RelayRole.RELAY_ROLE_CONNECTOR);
    Status s = thief.awaitClosed();
    assertThat(s.getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
    assertThat(s.getDescription()).contains("mallory@example.com");

    h.clock.advance(PresenceConfig.defaults().listenerIdTtl().plusSeconds(1));
    RelayPeer late = RelayPeer.open(h.stub("alice@example.com"), id, RelayRole.RELAY_ROLE_CONNECTOR);
    s = late.awaitClosed();
    assertThat(s.getCode()).isEqualTo(Status.Code.NOT_FOUND);
    assertThat(s.getDescription()).contains("expired");
  }

  @Test
  void anIdIsStillUsableJustBeforeItExpires() throws Exception {
    start(PresenceConfig.defaults());
    TestListener bob = h.listen("bob@example.com");
    bob.offer("file");
    String id = listenerId(bob);
    h.clock.advance(PresenceConfig.defaults().listenerIdTtl().minusSeconds(1));
    RelayPeer alice = RelayPeer.open(h.stub("alice@example.com"), id, RelayRole.RELAY_ROLE_CONNECTOR);
    assertThat(bob.next(ListenDown.KindCase.RELAY_OPEN).getRelayOpen().getListenerId()).isEqualTo(id);
    alice.cancel();
  }

  @Test
  void onlyTheListenersAddressCanJoin() throws Exception {
    start(PresenceConfig.defaults());
    TestListener bob = h.listen("bob@example.com");
    bob.offer("file");
    String id = listenerId(bob);
    RelayPeer alice = RelayPeer.open(h.stub("alice@example.com"), id, RelayRole.RELAY_ROLE_CONNECTOR);
    bob.next(ListenDown.KindCase.RELAY_OPEN);
    RelayPeer mallory = RelayPeer.open(h.stub("mallory@example.com"), id, RelayRole.RELAY_ROLE_LISTENER);
    assertThat(mallory.awaitClosed().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
    RelayPeer bobSide = RelayPeer.open(h.stub("bob@example.com"), id, RelayRole.RELAY_ROLE_LISTENER);
    bobSide.awaitSpliced();
    alice.awaitSpliced();
  }

  @Test
  void aListenerThatDoesNotJoinFailsTheConnectorWithUnavailable() throws Exception {
    start(PresenceConfig.defaults().withRelayJoinTimeout(Duration.ofMillis(300)));
    TestListener bob = h.listen("bob@example.com");
    bob.offer("file");
    RelayPeer alice = RelayPeer.open(h.stub("alice@example.com"), listenerId(bob), RelayRole.RELAY_ROLE_CONNECTOR);
    Status s = alice.awaitClosed();
    assertThat(s.getCode()).isEqualTo(Status.Code.UNAVAILABLE);
    assertThat(s.getDescription()).contains("did not join");
    Await.until(Duration.ofSeconds(5), "streams released", () -> h.service.relayStats().activeStreams() == 0);
  }

  @Test
  void aConnectorThatLeavesBeforeTheListenerJoinsFreesTheId() throws Exception {
    start(PresenceConfig.defaults());
    TestListener bob = h.listen("bob@example.com");
    bob.offer("file");
    String id = listenerId(bob);
    RelayPeer alice = RelayPeer.open(h.stub("alice@example.com"), id, RelayRole.RELAY_ROLE_CONNECTOR);
    bob.next(ListenDown.KindCase.RELAY_OPEN);
    alice.cancel();
    Await.until(Duration.ofSeconds(5), "alice's stream released", () -> h.service.relayStats().activeStreams() == 0);
    RelayPeer late = RelayPeer.open(h.stub("bob@example.com"), id, RelayRole.RELAY_ROLE_LISTENER);
    Status s = late.awaitClosed();
    assertThat(s.getCode()).isEqualTo(Status.Code.NOT_FOUND);
    assertThat(s.getDescription()).contains("no connector is waiting");
  }

  @Test
  void badFirstFramesAreRefused() throws Exception {
    start(PresenceConfig.defaults());
    RelayPeer noRole = RelayPeer.open(h.stub("alice@example.com"), "x", RelayRole.RELAY_ROLE_UNSPECIFIED);
    assertThat(noRole.awaitClosed().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    RelayPeer noId = RelayPeer.open(h.stub("alice@example.com"), "", RelayRole.RELAY_ROLE_CONNECTOR);
    assertThat(noId.awaitClosed().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    RelayPeer anonymous = RelayPeer.open(h.stub(null), "x", RelayRole.RELAY_ROLE_CONNECTOR);
    assertThat(anonymous.awaitClosed().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
  }

  @Test
  void aStreamWithoutHelloIsClosedAfterTheJoinTimeout() throws Exception {
    start(PresenceConfig.defaults().withRelayJoinTimeout(Duration.ofMillis(300)));
    RelayPeer silent = RelayPeer.openSilent(h.stub("alice@example.com"));
    Status s = silent.awaitClosed();
    assertThat(s.getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(s.getDescription()).contains("no relay hello");
    RelayPeer anonymous = RelayPeer.openSilent(h.stub(null));
    assertThat(anonymous.awaitClosed().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
    Await.until(Duration.ofSeconds(5), "streams released", () -> h.service.relayStats().activeStreams() == 0);
  }

  @Test
  void tooManyStreamsPerAddressIsResourceExhausted() throws Exception {
    start(PresenceConfig.defaults().withRelayLimits(2, 1 << 20, 64 << 10));
    TestListener bob = h.listen("bob@example.com");
    bob.offer("file");
    RelayPeer a1 = RelayPeer.open(h.stub("alice@example.com"), listenerId(bob), RelayRole.RELAY_ROLE_CONNECTOR);
    RelayPeer a2 = RelayPeer.open(h.stub("alice@example.com"), listenerId(bob), RelayRole.RELAY_ROLE_CONNECTOR);
    bob.next(ListenDown.KindCase.RELAY_OPEN);
    bob.next(ListenDown.KindCase.RELAY_OPEN);
    RelayPeer a3 = RelayPeer.open(h.stub("alice@example.com"), listenerId(bob), RelayRole.RELAY_ROLE_CONNECTOR);
    Status s = a3.awaitClosed();
    assertThat(s.getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
    assertThat(s.getDescription()).contains("alice@example.com").contains("2 relay streams");
    a1.cancel();
    Await.until(Duration.ofSeconds(5), "a1 released", () -> h.service.relayStats().activeStreams() == 1);
    RelayPeer a4 = RelayPeer.open(h.stub("alice@example.com"), listenerId(bob), RelayRole.RELAY_ROLE_CONNECTOR);
    assertThat(bob.next(ListenDown.KindCase.RELAY_OPEN)).isNotNull();
    assertThat(a4.closed).isNotDone();
    a2.cancel();
    a4.cancel();
  }

  @Test
  void aFrameOverTheSizeLimitIsResourceExhausted() throws Exception {
    start(PresenceConfig.defaults().withRelayLimits(8, 1 << 20, 1024));
    Pair p = splice();
    p.connector().send(new byte[1025]);
    Status s = p.connector().awaitClosed();
    assertThat(s.getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
    assertThat(s.getDescription()).contains("1025").contains("1024");
    assertThat(p.listener().awaitClosed().getCode()).isEqualTo(Status.Code.CANCELLED);
  }

  @Test
  void bytesInFlightPastTheAddressBudgetAreResourceExhausted() throws Exception {
    // budget 1000 bytes per address; a frame stays "in flight" until its receiver is ready again
    start(PresenceConfig.defaults().withRelayLimits(8, 1000, 1024));
    TestListener bob = h.listen("bob@example.com");
    bob.offer("file");
    Pair p1 = splice(bob);
    Pair p2 = splice(bob);
    org.q2q.certstore.Address alice = org.q2q.certstore.Address.parse("alice@example.com");
    p1.listener().stall();
    p2.listener().stall();
    // each listener takes one frame (its one outstanding request), then the relay queues the next
    p1.connector().send(new byte[600]);
    p1.connector().send(new byte[600]);
    Await.until(Duration.ofSeconds(5), "p1's second frame queued", () -> h.service.relayBytesInFlight(alice) == 600);
    assertThat(p1.listener().receivedBytes.get()).isEqualTo(600);
    p2.connector().send(new byte[600]);
    p2.connector().send(new byte[600]);
    Status s = p2.connector().awaitClosed();
    assertThat(s.getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
    assertThat(s.getDescription()).contains("alice@example.com").contains("in flight").contains("1000");
    assertThat(p2.listener().awaitClosed().getCode()).isEqualTo(Status.Code.CANCELLED);
    // p1 is unaffected: once bob reads again, its frame is released and the next one flows
    p1.listener().resume();
    Await.until(Duration.ofSeconds(5), "p1's frame released", () -> h.service.relayBytesInFlight(alice) == 0);
    p1.connector().send(new byte[100]);
    Await.until(Duration.ofSeconds(5), "p1 flows again", () -> p1.listener().receivedBytes.get() == 1300);
    assertThat(p1.connector().closed).isNotDone();
  }

  @Test
  void aStalledReceiverStopsTheSenderAndTheRelayQueuesAtMostItsWindow() throws Exception {
    start(PresenceConfig.defaults());
    Pair p = splice();
    p.listener().stall();
    RelayPeer.PatternSource source = new RelayPeer.PatternSource(1);
    Thread pusher = new Thread(() -> {
      try {
        p.connector().sendAll(source, 64L << 20, 16 << 10, Duration.ofSeconds(60));
      } catch (InterruptedException | AssertionError e) {
        // stopped by the test
      }
    });
    pusher.start();
    try {
      // the sender gets stuck: its transport stops being ready because the relay stops reading
      Await.until(Duration.ofSeconds(10), "the sender blocked by flow control", p.connector()::blockedOnFlowControl);
      long after = p.connector().sentBytes.get();
      assertThat(after).isLessThan(1L << 20);
      // the relay queues at most its request window of 4 frames
      assertThat(h.service.relayStats().bytesInFlight()).isLessThanOrEqualTo(4 * (16 << 10));
      assertThat(h.service.relayStats().bytesInFlightHighWater()).isLessThanOrEqualTo(4 * (16 << 10));
    } finally {
      p.connector().cancel();
      pusher.interrupt();
      pusher.join(5000);
    }
  }

  @Test
  void bindUdpIsForwardedToTheListenerAndAnswered() throws Exception {
    start(PresenceConfig.defaults());
    TestListener bob = h.listen("bob@example.com");
    bob.offer("file");
    org.q2q.proto.HostPort dst = org.q2q.proto.HostPort.newBuilder().setHost("203.0.113.5").setPort(40000).build();
    String id = h.blocking("alice@example.com")
        .inbound(InboundRequest.newBuilder().setTo("bob@example.com").setService("file").addUdpCandidates(dst).build())
        .getListeners(0).getId();
    h.blocking("alice@example.com").bindUdp(org.q2q.proto.BindUdpRequest.newBuilder()
        .setListenerId(id).setUdpDestination(dst).build());
    org.q2q.proto.BindUdpQuery q = bob.next(ListenDown.KindCase.BIND_UDP_QUERY).getBindUdpQuery();
    assertThat(q.getListenerId()).isEqualTo(id);
    assertThat(q.getFrom()).isEqualTo("alice@example.com");
    assertThat(q.getUdpDestination()).isEqualTo(dst);

    bob.bindUdpPolicy = x -> org.q2q.proto.BindUdpAnswer.newBuilder().setError("no UDP socket").build();
    io.grpc.StatusRuntimeException e = org.junit.jupiter.api.Assertions.assertThrows(io.grpc.StatusRuntimeException.class,
        () -> h.blocking("alice@example.com").bindUdp(org.q2q.proto.BindUdpRequest.newBuilder()
            .setListenerId(id).setUdpDestination(dst).build()));
    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
    assertThat(e.getStatus().getDescription()).contains("no UDP socket");

    e = org.junit.jupiter.api.Assertions.assertThrows(io.grpc.StatusRuntimeException.class,
        () -> h.blocking("mallory@example.com").bindUdp(org.q2q.proto.BindUdpRequest.newBuilder()
            .setListenerId(id).setUdpDestination(dst).build()));
    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);

    e = org.junit.jupiter.api.Assertions.assertThrows(io.grpc.StatusRuntimeException.class,
        () -> h.blocking("alice@example.com").bindUdp(org.q2q.proto.BindUdpRequest.newBuilder()
            .setListenerId(id).build()));
    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);

    // the id stays usable for the relay after BindUdp
    RelayPeer alice = RelayPeer.open(h.stub("alice@example.com"), id, RelayRole.RELAY_ROLE_CONNECTOR);
    assertThat(bob.next(ListenDown.KindCase.RELAY_OPEN).getRelayOpen().getListenerId()).isEqualTo(id);
    alice.cancel();
  }
}
