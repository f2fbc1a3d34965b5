package org.q2q.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.q2q.certstore.Address;
import org.q2q.proto.RelayRole;
import org.q2q.server.LoopbackServer;

/** listen/connect through a real presence server's relay, on loopback with TLS everywhere. */
@Timeout(120)
class RelayConnectTest {
  private static final Address BOB = Address.parse("bob@localhost");

  @TempDir Path dir;
  private TestNet net;
  private LoopbackServer server;
  private final ByteArrayOutputStream relayedByBob = new ByteArrayOutputStream();
  private final ByteArrayOutputStream relayedByAlice = new ByteArrayOutputStream();
  private final AtomicLong relayFrames = new AtomicLong();

  @BeforeEach
  void start() throws Exception {
    net = new TestNet(dir).relayOnly(); // these tests are about the relay
    server = net.server("localhost", c -> c.withRelayTap((id, sender, data) -> tap(sender, data)), b -> {});
  }

  private synchronized void tap(RelayRole sender, ByteString data) {
    relayFrames.incrementAndGet();
    ByteArrayOutputStream sink = sender == RelayRole.RELAY_ROLE_LISTENER ? relayedByBob : relayedByAlice;
    if (sink.size() < (8 << 20)) {
      byte[] b = data.toByteArray();
      sink.write(b, 0, Math.min(b.length, (8 << 20) - sink.size()));
    }
  }

  @AfterEach
  void stop() {
    net.close();
  }

  private Q2qClient bobListening(String service, ChannelHandler handler) throws Exception {
    Q2qClient bob = net.client(server, "bob@localhost");
    bob.listen(service, handler).ready().get(10, TimeUnit.SECONDS);
    assertThat(bob.presenceState()).isEqualTo(PresenceState.ONLINE);
    return bob;
  }

  @ParameterizedTest(name = "{0} bytes")
  @ValueSource(ints = {0, 1, 1 << 20, 64 << 20})
  void echoThroughTheRelayIsIntact(int size) throws Exception {
    bobListening("echo", TestNet::echo);
    Q2qClient alice = net.client(server, "alice@localhost");

    VirtualChannel ch = alice.connect(BOB, "echo").get(20, TimeUnit.SECONDS);
    assertThat(ch.route().kind()).isEqualTo(Route.Kind.RELAY);
    assertThat(ch.remoteAddress()).isEqualTo(BOB);
    assertThat(ch.localAddress()).isEqualTo(alice.address());

    TestNet.assertEchoedIntact(ch, size, size, 100_003); // odd write size: writes never line up with frames
    ch.close();
  }

  @Test
  void aHundredChannelsAtOnceShareOneSession() throws Exception {
    bobListening("digest", TestNet::digest);
    AtomicInteger attempts = new AtomicInteger();
    Q2qClient alice = net.track(net.builder(server, "alice@localhost").connectionListener(new ConnectionListener() {
      @Override
      public void attemptStart(Address to, Route route) {
        attempts.incrementAndGet();
      }
    }).build());

    List<CompletableFuture<Boolean>> results = new ArrayList<>();
    for (int i = 0; i < 100; i++) {
      int seed = i;
      results.add(alice.connect(BOB, "digest").thenApplyAsync(ch -> {
        try {
          byte[] data = TestNet.bytes(20_000 + seed * 997, seed);
          try (OutputStream out = ch.outputStream()) {
            out.write(data);
          }
          byte[] answer = new DataInputStream(ch.inputStream()).readNBytes(40);
          ch.close();
          return Arrays.equals(Arrays.copyOf(answer, 32), MessageDigest.getInstance("SHA-256").digest(data));
        } catch (Exception e) {
          throw new java.util.concurrent.CompletionException(e);
        }
      }));
    }
    for (CompletableFuture<Boolean> r : results) {
      assertThat(r.get(60, TimeUnit.SECONDS)).isTrue();
    }
    assertThat(attempts).hasValue(1);
    assertThat(alice.peerSessionCount()).isEqualTo(1);
  }

  @Test
  void aStalledReaderDoesNotStopAnotherChannelMoving32MiB() throws Exception {
    CompletableFuture<Void> release = new CompletableFuture<>();
    Q2qClient bob = net.client(server, "bob@localhost");
    bob.listen("stall", ch -> release.get()).ready().get(10, TimeUnit.SECONDS); // never reads until released
    bob.listen("digest", TestNet::digest).ready().get(10, TimeUnit.SECONDS);
    Q2qClient alice = net.client(server, "alice@localhost");

    VirtualChannel stalled = alice.connect(BOB, "stall").get(20, TimeUnit.SECONDS);
    AtomicLong stalledWritten = new AtomicLong();
    CompletableFuture<Void> stalledWriter = CompletableFuture.runAsync(() -> {
      try {
        OutputStream out = stalled.outputStream();
        byte[] buf = new byte[16 * 1024];
        for (int i = 0; i < 4096; i++) { // 64 MiB: far more than any buffer on the way
          out.write(buf);
          stalledWritten.addAndGet(buf.length);
        }
      } catch (Exception e) {
        // reset at the end of the test
      }
    });

    VirtualChannel busy = alice.connect(BOB, "digest").get(20, TimeUnit.SECONDS);
    byte[] chunk = TestNet.bytes(1 << 20, 5);
    MessageDigest sha = MessageDigest.getInstance("SHA-256");
    try (OutputStream out = busy.outputStream()) {
      for (int i = 0; i < 32; i++) {
        out.write(chunk);
        sha.update(chunk);
      }
    }
    byte[] answer = new DataInputStream(busy.inputStream()).readNBytes(40);
    assertThat(Arrays.copyOf(answer, 32)).isEqualTo(sha.digest());
    assertThat(java.nio.ByteBuffer.wrap(answer, 32, 8).getLong()).isEqualTo(32L << 20);

    // the stalled channel is choked: its writer is blocked with a bounded amount written
    assertThat(stalledWriter).isNotDone();
    assertThat(stalledWritten.get()).isLessThan(16L << 20);
    stalled.reset("test over");
    release.complete(null);
  }

  @Test
  void theRelayOnlyEverSeesCiphertext() throws Exception {
    byte[] marker = "Q2Q-PLAINTEXT-MARKER-7f3a9c".getBytes(StandardCharsets.US_ASCII);
    bobListening("echo", TestNet::echo);
    Q2qClient alice = net.client(server, "alice@localhost");
    VirtualChannel ch = alice.connect(BOB, "echo").get(20, TimeUnit.SECONDS);
    ByteArrayOutputStream payload = new ByteArrayOutputStream();
    for (int i = 0; i < 2000; i++) {
      payload.write(marker);
    }
    CompletableFuture<byte[]> echoed = CompletableFuture.supplyAsync(() -> {
      try {
        return ch.inputStream().readAllBytes();
      } catch (Exception e) {
        throw new java.util.concurrent.CompletionException(e);
      }
    });
    try (OutputStream out = ch.outputStream()) {
      out.write(payload.toByteArray());
    }
    assertThat(echoed.get(20, TimeUnit.SECONDS)).isEqualTo(payload.toByteArray());

    synchronized (this) {
      assertThat(relayFrames.get()).isGreaterThan(0);
      assertThat(relayedByAlice.size()).isGreaterThan(payload.size());
      assertThat(relayedByBob.size()).isGreaterThan(payload.size());
      assertThat(indexOf(relayedByAlice.toByteArray(), marker)).isEqualTo(-1);
      assertThat(indexOf(relayedByBob.toByteArray(), marker)).isEqualTo(-1);
    }
  }

  private static int indexOf(byte[] hay, byte[] needle) {
    outer:
    for (int i = 0; i + needle.length <= hay.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (hay[i + j] != needle[j]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }

  @Test
  void anUnknownAddressOrServiceIsNotFoundWithAClearMessage() throws Exception {
    bobListening("echo", TestNet::echo);
    Q2qClient alice = net.client(server, "alice@localhost");

    assertThatThrownBy(() -> alice.connect(Address.parse("nobody@localhost"), "echo").get(20, TimeUnit.SECONDS))
        .isInstanceOf(ExecutionException.class)
        .cause().isInstanceOfSatisfying(ConnectFailedException.class, e -> {
          assertThat(e.reason()).isEqualTo(Q2qException.Reason.NOT_FOUND);
          assertThat(e.getMessage()).startsWith("cannot reach nobody@localhost/echo: ").contains("nobody@localhost");
        });
    assertThatThrownBy(() -> alice.connect(BOB, "ftp").get(20, TimeUnit.SECONDS))
        .cause().isInstanceOfSatisfying(ConnectFailedException.class, e -> {
          assertThat(e.reason()).isEqualTo(Q2qException.Reason.NOT_FOUND);
          assertThat(e.getMessage()).startsWith("cannot reach bob@localhost/ftp: ").contains("ftp");
        });
    assertThatThrownBy(() -> alice.connect(BOB, ".hidden").get())
        .cause().isInstanceOfSatisfying(ConnectFailedException.class,
            e -> assertThat(e.reason()).isEqualTo(Q2qException.Reason.INVALID));
  }

  @Test
  void aListenerPolicyDeclinesOthersWithItsReason() throws Exception {
    Q2qClient bob = net.client(server, "bob@localhost");
    bob.listen("echo", AcceptPolicy.onlyFrom(List.of(Address.parse("carol@localhost"))), TestNet::echo)
        .ready().get(10, TimeUnit.SECONDS);
    Q2qClient alice = net.client(server, "alice@localhost");
    assertThatThrownBy(() -> alice.connect(BOB, "echo").get(20, TimeUnit.SECONDS))
        .cause().isInstanceOfSatisfying(ConnectFailedException.class, e -> {
          assertThat(e.reason()).isEqualTo(Q2qException.Reason.PERMISSION);
          assertThat(e.getMessage()).contains("alice@localhost is not allowed to use echo");
        });
  }

  @Test
  void concurrentConnectsToOnePeerShareOneSessionAndAClosedSessionIsEvicted() throws Exception {
    Q2qClient bob = bobListening("echo", TestNet::echo);
    AtomicInteger attempts = new AtomicInteger();
    AtomicInteger reused = new AtomicInteger();
    Q2qClient alice = net.track(net.builder(server, "alice@localhost").connectionListener(new ConnectionListener() {
      @Override
      public void attemptStart(Address to, Route route) {
        attempts.incrementAndGet();
      }

      @Override
      public void sessionReused(Address to, Route route) {
        reused.incrementAndGet();
      }
    }).build());

    CompletableFuture<VirtualChannel> a = alice.connect(BOB, "echo");
    CompletableFuture<VirtualChannel> b = alice.connect(BOB, "echo");
    VirtualChannel ca = a.get(20, TimeUnit.SECONDS);
    VirtualChannel cb = b.get(20, TimeUnit.SECONDS);
    assertThat(ca.id()).isNotEqualTo(cb.id());
    assertThat(attempts).hasValue(1);
    assertThat(reused).hasValue(1);
    assertThat(alice.peerSessionCount()).isEqualTo(1);

    // bob goes away: the session closes, is evicted, and the next connect makes a new one
    bob.close();
    TestNet.await(() -> alice.peerSessionCount() == 0, java.time.Duration.ofSeconds(20), "the session to be evicted");
    bobListening("echo", TestNet::echo);
    VirtualChannel again = alice.connect(BOB, "echo").get(20, TimeUnit.SECONDS);
    assertThat(again.remoteAddress()).isEqualTo(BOB);
    assertThat(attempts).hasValue(2);
  }
}
