package org.q2q.server.presence;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.q2q.certstore.Identity;
import org.q2q.proto.ConnectionMethod;
import org.q2q.proto.InboundRequest;
import org.q2q.proto.InboundResponse;
import org.q2q.proto.ListenDown;
import org.q2q.proto.PresenceGrpc;
import org.q2q.proto.RelayOpen;
import org.q2q.proto.RelayRole;
import org.q2q.server.LoopbackServer;
import org.q2q.server.PresenceServer;

/** The relay socket of a real PresenceServer on 127.0.0.1: splice, backpressure, refusals, global caps. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class RelaySocketTest {
  private LoopbackServer server;
  private TlsChannels channels;
  private Identity alice;
  private Identity bob;
  private TestListener bobListening;

  private void start(Consumer<PresenceServer.Builder> customize) throws Exception {
    server = LoopbackServer.start("example.com", customize);
    channels = new TlsChannels();
    alice = server.issueIdentity("alice@example.com");
    bob = server.issueIdentity("bob@example.com");
    bobListening = new TestListener(PresenceGrpc.newStub(channels.open(server.server(), bob)));
    bobListening.offer("file");
  }

  @AfterEach
  void stop() throws Exception {
    if (channels != null) {
      channels.close();
    }
    if (server != null) {
      server.close();
    }
  }

  private InboundResponse inbound(Identity from) throws Exception {
    ManagedChannel ch = channels.open(server.server(), from);
    return PresenceGrpc.newBlockingStub(ch).withDeadlineAfter(20, TimeUnit.SECONDS)
        .inbound(InboundRequest.newBuilder().setTo("bob@example.com").setService("file").build());
  }

  /** Both sides of a fresh relay alice -> bob/file through the socket, spliced. */
  private SocketRelayPeer[] splice(int receiveBuffer) throws Exception {
    String id = inbound(alice).getListeners(0).getId();
    CompletableFuture<SocketRelayPeer> connector = CompletableFuture.supplyAsync(() -> {
      try {
        return SocketRelayPeer.open(server.server(), alice, id, RelayRole.RELAY_ROLE_CONNECTOR, receiveBuffer);
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    });
    RelayOpen open = bobListening.next(ListenDown.KindCase.RELAY_OPEN).getRelayOpen();
    assertThat(open.getListenerId()).isEqualTo(id);
    assertThat(open.getSocketPort()).isEqualTo(server.server().relaySocketPort());
    SocketRelayPeer listener = SocketRelayPeer.open(server.server(), bob, id, RelayRole.RELAY_ROLE_LISTENER,
        receiveBuffer);
    SocketRelayPeer c = connector.get(20, TimeUnit.SECONDS);
    assertThat(c.answer.hasSpliced()).as("connector: %s", c.answer).isTrue();
    assertThat(listener.answer.hasSpliced()).as("listener: %s", listener.answer).isTrue();
    return new SocketRelayPeer[] {c, listener};
  }

  @Test
  void inboundAnnouncesTheSocketPortInTheRelayMethod() throws Exception {
    start(b -> {});
    assertThat(server.server().relaySocketPort()).isPositive().isNotEqualTo(server.port());
    ConnectionMethod relay = inbound(alice).getListeners(0).getMethodsList().stream()
        .filter(ConnectionMethod::hasRelay).findFirst().orElseThrow();
    assertThat(relay.getRelay().getSocketPort()).isEqualTo(server.server().relaySocketPort());
  }

  @Test
  void bytesCrossIntactBothWaysAndHalfClosesReachTheOtherSide() throws Exception {
    start(b -> {});
    SocketRelayPeer[] p = splice(0);
    long up = 32L << 20;
    long down = 8L << 20;
    CompletableFuture<String> sentUp = CompletableFuture.supplyAsync(() -> send(p[0], 1, up, true));
    CompletableFuture<String> sentDown = CompletableFuture.supplyAsync(() -> send(p[1], 2, down, true));
    CompletableFuture<String> gotUp = CompletableFuture.supplyAsync(() -> receiveAll(p[1], null));
    CompletableFuture<String> gotDown = CompletableFuture.supplyAsync(() -> receiveAll(p[0], null));
    // each reader sees the end of stream only because the other side shut its output
    assertThat(gotUp.get(90, TimeUnit.SECONDS)).isEqualTo(sentUp.get(90, TimeUnit.SECONDS));
    assertThat(gotDown.get(90, TimeUnit.SECONDS)).isEqualTo(sentDown.get(90, TimeUnit.SECONDS));
    // both directions over: the relay closes both sockets and releases what it counted
    assertThat(p[0].in().read()).isEqualTo(-1);
    Await.until(Duration.ofSeconds(10), "relay sockets released",
        () -> server.server().presence().relayStats().activeStreams() == 0);
    RelayStats stats = server.server().presence().relayStats();
    assertThat(stats.bytesRelayed()).isEqualTo(up + down);
    assertThat(stats.bytesInFlight()).isZero();
    assertThat(stats.splices()).isEqualTo(1);
  }

  @Test
  void aStalledReceiverSlowsTheSenderAndTheRelayHoldsAtMostItsHighWaterMarkPlusOneRead() throws Exception {
    start(b -> {});
    SocketRelayPeer[] p = splice(64 << 10);
    long total = 256L << 20;
    AtomicLong sent = new AtomicLong();
    CompletableFuture<String> sender = CompletableFuture.supplyAsync(() -> send(p[0], 3, total, false, sent));
    // nobody reads p[1]: the sender blocks once the socket buffers on the way are full
    long sentWhenBlocked = Await.steady(Duration.ofSeconds(60), Duration.ofSeconds(1),
        "the sender blocked", () -> sent.get() > 0, sent::get);
    RelayStats stats = server.server().presence().relayStats();
    System.out.printf("stalled receiver: sender blocked after %d bytes; relay in flight %d, high water %d%n",
        sentWhenBlocked, stats.bytesInFlight(), stats.bytesInFlightHighWater());
    long bound = RelayCaps.defaults().socketHighWaterBytes() + RelayCaps.SOCKET_READ_BYTES;
    assertThat(sentWhenBlocked).as("slowed, not buffered").isLessThan(total / 2);
    assertThat(stats.bytesInFlightHighWater()).isLessThanOrEqualTo(bound);

    String got = receiveAll(p[1], total); // the receiver wakes up: everything arrives, in order
    assertThat(got).isEqualTo(sender.get(90, TimeUnit.SECONDS));
    assertThat(server.server().presence().relayStats().bytesInFlightHighWater()).isLessThanOrEqualTo(bound);
  }

  @Test
  void theGlobalInFlightCapHoldsBackSendersBelowTheirSocketsOwnLimit() throws Exception {
    // M7: one address's share and the whole server's are capped, not only each socket's queue
    start(b -> b.presence(PresenceConfig.defaults().withRelayCaps(new RelayCaps(4096, 256, 64 << 10, 8 << 20))));
    SocketRelayPeer[] p = splice(64 << 10);
    long total = 64L << 20;
    AtomicLong sent = new AtomicLong();
    CompletableFuture<String> sender = CompletableFuture.supplyAsync(() -> send(p[0], 4, total, false, sent));
    Await.steady(Duration.ofSeconds(60), Duration.ofSeconds(1), "the sender blocked", () -> sent.get() > 0,
        sent::get);
    long bound = (64 << 10) + RelayCaps.SOCKET_READ_BYTES; // the cap, passed by at most one read
    assertThat(server.server().presence().relayStats().bytesInFlightHighWater()).isLessThanOrEqualTo(bound);
    assertThat(receiveAll(p[1], total)).isEqualTo(sender.get(90, TimeUnit.SECONDS));
    assertThat(server.server().presence().relayStats().bytesInFlightHighWater()).isLessThanOrEqualTo(bound);
  }

  @Test
  void unknownUsedOrForeignIdsAreRefusedWithTheirReason() throws Exception {
    start(b -> {});
    try (SocketRelayPeer unknown = SocketRelayPeer.open(server.server(), alice, "no-such-id",
        RelayRole.RELAY_ROLE_CONNECTOR)) {
      assertThat(unknown.answer.getRefused().getCode()).isEqualTo(Status.Code.NOT_FOUND.value());
      assertThat(unknown.answer.getRefused().getDescription()).contains("unknown or was already used");
      // closed after the refusal (what still comes is the TLS close_notify)
      assertThat(unknown.in().readNBytes(1024).length).isLessThan(1024);
    }
    String id = inbound(alice).getListeners(0).getId();
    Identity carol = server.issueIdentity("carol@example.com");
    try (SocketRelayPeer thief = SocketRelayPeer.open(server.server(), carol, id, RelayRole.RELAY_ROLE_CONNECTOR)) {
      assertThat(thief.answer.getRefused().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED.value());
      assertThat(thief.answer.getRefused().getDescription()).contains("was not issued to carol@example.com");
    }
    CompletableFuture<SocketRelayPeer> waiting = CompletableFuture.supplyAsync(() -> {
      try {
        return SocketRelayPeer.open(server.server(), alice, id, RelayRole.RELAY_ROLE_CONNECTOR);
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    });
    bobListening.next(ListenDown.KindCase.RELAY_OPEN);
    // the id is used up: a second connector cannot take it
    try (SocketRelayPeer again = SocketRelayPeer.open(server.server(), alice, id, RelayRole.RELAY_ROLE_CONNECTOR)) {
      assertThat(again.answer.getRefused().getCode()).isEqualTo(Status.Code.NOT_FOUND.value());
    }
    // only the id's listener may join
    try (SocketRelayPeer impostor = SocketRelayPeer.open(server.server(), carol, id, RelayRole.RELAY_ROLE_LISTENER)) {
      assertThat(impostor.answer.getRefused().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED.value());
      assertThat(impostor.answer.getRefused().getDescription()).contains("belongs to a listener of bob@example.com");
    }
    // the Relay RPC cannot join a socket connector
    RelayPeer rpc = RelayPeer.open(PresenceGrpc.newStub(channels.open(server.server(), bob)), id,
        RelayRole.RELAY_ROLE_LISTENER);
    assertThat(rpc.awaitClosed().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
    try (SocketRelayPeer listener = SocketRelayPeer.open(server.server(), bob, id, RelayRole.RELAY_ROLE_LISTENER)) {
      assertThat(listener.answer.hasSpliced()).isTrue();
      assertThat(waiting.get(20, TimeUnit.SECONDS).answer.hasSpliced()).isTrue();
      waiting.get().close();
    }
  }

  @Test
  void aConnectorThatLeavesWhileWaitingIsNoLongerWaitedFor() throws Exception {
    start(b -> {});
    String id = inbound(alice).getListeners(0).getId();
    try (Socket connector = SocketRelayPeer.helloOnly(server.server(), alice, id, RelayRole.RELAY_ROLE_CONNECTOR)) {
      bobListening.next(ListenDown.KindCase.RELAY_OPEN);
    } // it leaves before bob joins
    Await.until(Duration.ofSeconds(5), "the connector released",
        () -> server.server().presence().relayStats().activeStreams() == 0);
    try (SocketRelayPeer late = SocketRelayPeer.open(server.server(), bob, id, RelayRole.RELAY_ROLE_LISTENER)) {
      assertThat(late.answer.getRefused().getCode()).isEqualTo(Status.Code.NOT_FOUND.value());
      assertThat(late.answer.getRefused().getDescription()).contains("no connector is waiting");
    }
  }

  @Test
  void aClientWithoutACertificateIsRefusedInTheHandshake() throws Exception {
    start(b -> {});
    assertThatThrownBy(() -> SocketRelayPeer.open(server.server(), null, "any", RelayRole.RELAY_ROLE_CONNECTOR))
        .isInstanceOf(IOException.class);
    Await.until(Duration.ofSeconds(5), "nothing left counted",
        () -> server.server().presence().anonymousRelayStreams() == 0
            && server.server().presence().relayStats().activeStreams() == 0);
  }

  @Test
  void connectionsWaitingForTheirHelloAreCappedForTheWholeServer() throws Exception {
    // M7: anonymous relay sockets (no TLS, no hello yet) are capped globally, and freed when they go
    start(b -> b.presence(PresenceConfig.defaults().withRelayCaps(new RelayCaps(4096, 2, 256L << 20, 512 << 10))));
    int port = server.server().relaySocketPort();
    try (Socket a = new Socket(); Socket b = new Socket(); Socket c = new Socket()) {
      a.connect(new InetSocketAddress("127.0.0.1", port));
      b.connect(new InetSocketAddress("127.0.0.1", port));
      Await.until(Duration.ofSeconds(5), "two anonymous sockets",
          () -> server.server().presence().anonymousRelayStreams() == 2);
      c.connect(new InetSocketAddress("127.0.0.1", port));
      c.setSoTimeout(5000);
      assertThat(c.getInputStream().read()).as("the third is closed at once").isEqualTo(-1);
      assertThat(server.server().presence().anonymousRelayStreams()).isEqualTo(2);
    }
    Await.until(Duration.ofSeconds(5), "anonymous sockets released",
        () -> server.server().presence().anonymousRelayStreams() == 0);
    // and a real client gets through again
    try (SocketRelayPeer p = SocketRelayPeer.open(server.server(), alice, "no-such-id",
        RelayRole.RELAY_ROLE_CONNECTOR)) {
      assertThat(p.answer.getRefused().getCode()).isEqualTo(Status.Code.NOT_FOUND.value());
    }
  }

  @Test
  void relayStreamsAreCappedForTheWholeServer() throws Exception {
    // M7: two streams in all; a third address is refused although it has none of its own
    start(b -> b.presence(PresenceConfig.defaults().withRelayCaps(new RelayCaps(2, 256, 256L << 20, 512 << 10))));
    SocketRelayPeer[] p = splice(0);
    Identity carol = server.issueIdentity("carol@example.com");
    try (SocketRelayPeer third = SocketRelayPeer.open(server.server(), carol, "no-matter",
        RelayRole.RELAY_ROLE_LISTENER)) {
      // a listener hello finds no waiting connector before it counts; a connector hello counts first
      assertThat(third.answer.hasRefused()).isTrue();
    }
    String id = inbound(alice).getListeners(0).getId();
    try (SocketRelayPeer third = SocketRelayPeer.open(server.server(), alice, id, RelayRole.RELAY_ROLE_CONNECTOR)) {
      assertThat(third.answer.getRefused().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED.value());
      assertThat(third.answer.getRefused().getDescription()).contains("the server's limit");
    }
    p[0].close();
    p[1].close();
    Await.until(Duration.ofSeconds(10), "streams released",
        () -> server.server().presence().relayStats().activeStreams() == 0);
  }

  private static String send(SocketRelayPeer p, long seed, long total, boolean shutdown) {
    return send(p, seed, total, shutdown, new AtomicLong());
  }

  /** Writes {@code total} pseudo-random bytes; returns their SHA-256. */
  private static String send(SocketRelayPeer p, long seed, long total, boolean shutdown, AtomicLong sent) {
    try {
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      Random r = new Random(seed);
      byte[] chunk = new byte[64 << 10];
      OutputStream out = p.out();
      for (long left = total; left > 0; ) {
        int n = (int) Math.min(chunk.length, left);
        r.nextBytes(chunk);
        md.update(chunk, 0, n);
        out.write(chunk, 0, n);
        sent.addAndGet(n);
        left -= n;
      }
      out.flush();
      if (shutdown) {
        p.raw.shutdownOutput();
      }
      return HexFormat.of().formatHex(md.digest());
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /** Reads to the end of stream, or {@code total} bytes if not null; returns their SHA-256. */
  private static String receiveAll(SocketRelayPeer p, Long total) {
    try {
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      InputStream in = p.in();
      p.raw.setSoTimeout(60_000);
      byte[] buf = new byte[64 << 10];
      long got = 0;
      while (total == null || got < total) {
        int n = in.read(buf, 0, total == null ? buf.length : (int) Math.min(buf.length, total - got));
        if (n < 0) {
          break;
        }
        md.update(buf, 0, n);
        got += n;
      }
      return HexFormat.of().formatHex(md.digest());
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }
}
