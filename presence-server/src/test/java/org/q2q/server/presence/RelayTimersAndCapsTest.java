package org.q2q.server.presence;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.Status;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.q2q.proto.InboundRequest;
import org.q2q.proto.ListenDown;
import org.q2q.proto.RelayRole;

/**
 * The Relay RPC's timers (security review M6: one scheduler, each timer cancelled when its stream
 * ends) and its global caps (M7), on the in-process transport.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class RelayTimersAndCapsTest {
  private PresenceHarness h;

  @AfterEach
  void stop() throws Exception {
    if (h != null) {
      h.close();
    }
  }

  @Test
  void streamsThatEndLeaveNoTimerBehindAndCreateNoThreads() throws Exception {
    // a long join timeout: with the old delayed executor every stream held a 10 s task
    h = new PresenceHarness(PresenceConfig.defaults().withRelayJoinTimeout(Duration.ofSeconds(60)));
    int threadsBefore = Thread.activeCount();
    List<RelayPeer> refused = new ArrayList<>();
    for (int i = 0; i < 200; i++) { // each fails at once (unknown id) but had its hello timer
      refused.add(RelayPeer.open(h.stub("alice@example.com"), "unknown-" + i, RelayRole.RELAY_ROLE_CONNECTOR));
    }
    for (RelayPeer p : refused) {
      assertThat(p.awaitClosed().getCode()).isEqualTo(Status.Code.NOT_FOUND);
    }
    Await.until(Duration.ofSeconds(5), "streams released", () -> h.service.relayStats().activeStreams() == 0);
    assertThat(h.service.pendingRelayTimers()).isZero();
    assertThat(Thread.activeCount() - threadsBefore).as("threads created for 200 timers").isLessThanOrEqualTo(2);

    // a waiting connector holds exactly its join timer, until it leaves
    TestListener bob = h.listen("bob@example.com");
    bob.offer("file");
    String id = h.blocking("alice@example.com")
        .inbound(InboundRequest.newBuilder().setTo("bob@example.com").setService("file").build())
        .getListeners(0).getId();
    RelayPeer alice = RelayPeer.open(h.stub("alice@example.com"), id, RelayRole.RELAY_ROLE_CONNECTOR);
    bob.next(ListenDown.KindCase.RELAY_OPEN);
    assertThat(h.service.pendingRelayTimers()).isEqualTo(1);
    alice.cancel();
    Await.until(Duration.ofSeconds(5), "the join timer cancelled", () -> h.service.pendingRelayTimers() == 0);
  }

  @Test
  void aJoinTimeoutStillFiresFromTheSharedScheduler() throws Exception {
    h = new PresenceHarness(PresenceConfig.defaults().withRelayJoinTimeout(Duration.ofMillis(200)));
    RelayPeer silent = RelayPeer.openSilent(h.stub("alice@example.com"));
    Status s = silent.awaitClosed();
    assertThat(s.getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(s.getDescription()).contains("no relay hello within 200 ms");
    assertThat(h.service.pendingRelayTimers()).isZero();
  }

  @Test
  void streamsWithoutHelloAreCappedForTheWholeServer() throws Exception {
    h = new PresenceHarness(PresenceConfig.defaults().withRelayCaps(new RelayCaps(4096, 2, 256L << 20, 512 << 10)));
    RelayPeer a = RelayPeer.openSilent(h.stub("alice@example.com"));
    RelayPeer b = RelayPeer.openSilent(h.stub("bob@example.com"));
    Await.until(Duration.ofSeconds(5), "two anonymous streams", () -> h.service.anonymousRelayStreams() == 2);
    RelayPeer c = RelayPeer.openSilent(h.stub("carol@example.com"));
    Status s = c.awaitClosed();
    assertThat(s.getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
    assertThat(s.getDescription()).contains("2 streams waiting for their hello");
    a.cancel();
    Await.until(Duration.ofSeconds(5), "a's slot freed", () -> h.service.anonymousRelayStreams() == 1);
    RelayPeer d = RelayPeer.open(h.stub("carol@example.com"), "unknown", RelayRole.RELAY_ROLE_CONNECTOR);
    assertThat(d.awaitClosed().getCode()).as("past the hello, refused for its own reason").isEqualTo(
        Status.Code.NOT_FOUND);
    b.cancel();
    Await.until(Duration.ofSeconds(5), "all freed", () -> h.service.anonymousRelayStreams() == 0
        && h.service.relayStats().activeStreams() == 0);
  }

  @Test
  void relayStreamsAreCappedForTheWholeServerAcrossAddresses() throws Exception {
    h = new PresenceHarness(PresenceConfig.defaults().withRelayCaps(new RelayCaps(2, 256, 256L << 20, 512 << 10)));
    TestListener bob = h.listen("bob@example.com");
    bob.offer("file");
    List<RelayPeer> held = new ArrayList<>();
    for (String who : List.of("alice@example.com", "carol@example.com")) {
      String id = h.blocking(who)
          .inbound(InboundRequest.newBuilder().setTo("bob@example.com").setService("file").build())
          .getListeners(0).getId();
      held.add(RelayPeer.open(h.stub(who), id, RelayRole.RELAY_ROLE_CONNECTOR));
      bob.next(ListenDown.KindCase.RELAY_OPEN);
    }
    String id = h.blocking("dave@example.com")
        .inbound(InboundRequest.newBuilder().setTo("bob@example.com").setService("file").build())
        .getListeners(0).getId();
    Status s = RelayPeer.open(h.stub("dave@example.com"), id, RelayRole.RELAY_ROLE_CONNECTOR).awaitClosed();
    assertThat(s.getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
    assertThat(s.getDescription()).contains("2 streams open (the server's limit)");
    held.forEach(RelayPeer::cancel);
  }

  @Test
  void bytesInFlightAreCappedForTheWholeServer() throws Exception {
    // per address 16 MiB, but the server holds 32 KiB in all: the third queued frame is refused
    h = new PresenceHarness(PresenceConfig.defaults().withRelayCaps(new RelayCaps(4096, 256, 32 << 10, 512 << 10)));
    TestListener bob = h.listen("bob@example.com");
    bob.offer("file");
    String id = h.blocking("alice@example.com")
        .inbound(InboundRequest.newBuilder().setTo("bob@example.com").setService("file").build())
        .getListeners(0).getId();
    RelayPeer alice = RelayPeer.open(h.stub("alice@example.com"), id, RelayRole.RELAY_ROLE_CONNECTOR);
    bob.next(ListenDown.KindCase.RELAY_OPEN);
    RelayPeer bobSide = RelayPeer.open(h.stub("bob@example.com"), id, RelayRole.RELAY_ROLE_LISTENER);
    alice.awaitSpliced();
    bobSide.awaitSpliced();
    bobSide.stall();
    for (int i = 0; i < 8; i++) {
      alice.send(new byte[16 << 10]);
    }
    Status s = alice.awaitClosed();
    assertThat(s.getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
    assertThat(s.getDescription()).contains("the server's limit of " + (32 << 10));
    assertThat(h.service.relayStats().bytesInFlightHighWater()).isLessThanOrEqualTo(32 << 10);
  }
}
