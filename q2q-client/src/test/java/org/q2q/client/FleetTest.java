package org.q2q.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.q2q.certstore.Address;
import org.q2q.client.files.FileReceiver;
import org.q2q.client.files.FileSender;
import org.q2q.client.files.FileSet;
import org.q2q.client.files.TransferProgress;
import org.q2q.server.PostgresTestDatabase;
import org.q2q.server.LoopbackServer;
import org.q2q.server.PresenceServer;

/**
 * Three nodes of one domain sharing a PostgreSQL database (issue 14), on loopback with TLS
 * everywhere: a client of one node sends files to a listener of another, by relay and directly.
 */
@Timeout(120)
class FleetTest {
  private static final Address BOB = Address.parse("bob@localhost");

  @TempDir Path dir;
  private PostgresTestDatabase db;
  private TestNet net;
  private LoopbackServer node1;
  private LoopbackServer node2;
  private LoopbackServer node3;

  /** Tests tagged so run nodes without relay sockets: relays then take the Relay RPC. */
  private static final String NO_RELAY_SOCKET = "no-relay-socket";
  private boolean relaySockets = true;

  @BeforeEach
  void start(TestInfo test) throws Exception {
    relaySockets = !test.getTags().contains(NO_RELAY_SOCKET);
    db = PostgresTestDatabase.create();
    net = new TestNet(dir);
    node1 = net.server("localhost", c -> c, this::fleetNode);
    node2 = LoopbackServer.startNodeOf(node1, this::fleetNode);
    node3 = LoopbackServer.startNodeOf(node1, this::fleetNode);
  }

  private void fleetNode(PresenceServer.Builder b) {
    b.database(db.location()).advertise("127.0.0.1").fleetTiming(Duration.ofMillis(200), Duration.ofSeconds(1));
    if (!relaySockets) {
      b.relaySocketPort(-1);
    }
  }

  @AfterEach
  void stop() throws Exception {
    try {
      if (net != null) {
        net.close();
      }
      for (LoopbackServer n : new LoopbackServer[] {node2, node3}) {
        if (n != null) {
          n.close();
        }
      }
    } finally {
      if (db != null) {
        db.close();
      }
    }
  }

  @Test
  void everyNodeListsTheThreeLiveNodes() throws Exception {
    TestNet.await(() -> node1.server().liveNodes().size() == 3 && node3.server().liveNodes().size() == 3,
        Duration.ofSeconds(5), "three live nodes");
    assertThat(node2.server().liveNodes().get(0).port()).isEqualTo(node2.port()); // itself first
  }

  @Test
  void aClientOfNode1SendsAFileToAListenerOfNode3ByRelay() throws Exception {
    Q2qClient bob = net.track(net.builder(node3, "bob@localhost").directTcp(false).ptcp(false).build());
    Q2qClient alice = net.track(net.builder(node1, "alice@localhost").directTcp(false).ptcp(false).build());
    VirtualChannel ch = sendAFile(bob, alice, 3 << 20);
    assertThat(ch.route().kind()).isEqualTo(Route.Kind.RELAY);
    assertThat(ch.route().toString()).contains(String.valueOf(node3.port())); // the relay met at bob's node
  }

  @Test
  @Tag(NO_RELAY_SOCKET)
  void withoutRelaySocketsTheRelayRpcIsOpenedAtTheListenersNodeNotTheOneThatAnswered() throws Exception {
    Q2qClient bob = net.track(net.builder(node3, "bob@localhost").directTcp(false).ptcp(false).build());
    Q2qClient alice = net.track(net.builder(node1, "alice@localhost").directTcp(false).ptcp(false).build());
    VirtualChannel ch = sendAFile(bob, alice, 1 << 20);
    assertThat(ch.route().kind()).isEqualTo(Route.Kind.RELAY);
    assertThat(ch.route().toString()).contains(String.valueOf(node3.port())); // node 1 holds no such listener
  }

  @Test
  void aClientOfNode1SendsAFileToAListenerOfNode3Directly() throws Exception {
    Q2qClient bob = net.client(node3, "bob@localhost");
    Q2qClient alice = net.client(node1, "alice@localhost");
    VirtualChannel ch = sendAFile(bob, alice, 1 << 20);
    assertThat(ch.route().kind()).isNotEqualTo(Route.Kind.RELAY);
  }

  /** Bob receives files into an inbox; alice sends him one of {@code size} bytes; it arrives intact. */
  private VirtualChannel sendAFile(Q2qClient bob, Q2qClient alice, int size) throws Exception {
    Path inbox = Files.createDirectories(dir.resolve("inbox"));
    AtomicReference<FileReceiver.Received> received = new AtomicReference<>();
    bob.listen("file", ch -> received.set(new FileReceiver(inbox, FileReceiver.Options.defaults(), Clock.systemUTC())
        .receive(ch, TransferProgress.NONE))).ready().get(10, TimeUnit.SECONDS);
    byte[] content = TestNet.bytes(size, size);
    Path file = TestNet.tempFile(Files.createDirectories(dir.resolve("out")), "report.bin", content);
    VirtualChannel ch = connectSoon(alice, "file");
    FileSender.Sent sent = new FileSender(Clock.systemUTC(), Duration.ofSeconds(30))
        .send(ch, FileSet.of(List.of(file)), TransferProgress.NONE);
    assertThat(sent.bytes()).isEqualTo(content.length);
    TestNet.await(() -> received.get() != null, Duration.ofSeconds(20), "bob to receive the file");
    assertThat(Files.readAllBytes(inbox.resolve("report.bin"))).isEqualTo(content);
    return ch;
  }

  @Test
  void anInboundForAListenerWhoseNodeJustDiedFailsFastWithNotFound() throws Exception {
    // a node that died without leaving: its row is still fresh, its port refuses connections
    try (Connection c = node1.server().database().dataSource().getConnection(); Statement s = c.createStatement()) {
      s.execute("INSERT INTO nodes (node_id, host, grpc_port, relay_port) VALUES ('deadnode', '127.0.0.1', 1, 2)");
      s.execute("INSERT INTO listeners VALUES ('bob@localhost', 'echo', 'deadnode')");
    }
    Q2qClient alice = net.client(node1, "alice@localhost");
    long t0 = System.nanoTime();
    assertThatThrownBy(() -> alice.connect(BOB, "echo").get(20, TimeUnit.SECONDS))
        .isInstanceOf(ExecutionException.class)
        .hasMessageContaining("no listener");
    assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(3));
  }

  @Test
  void whenTheListenersNodeDiesItListensOnAnotherAndIsReachedAgain() throws Exception {
    // bob was given node 3 alone: he learns the others from it (Nodes) and moves there by himself
    Q2qClient bob = net.track(net.builder(node3, "bob@localhost").directTcp(false).ptcp(false).build());
    bob.listen("echo", TestNet::echo).ready().get(10, TimeUnit.SECONDS);
    TestNet.await(() -> node3.server().liveNodes().size() == 3, Duration.ofSeconds(5), "three live nodes");
    Q2qClient alice = net.track(net.builder(node1, "alice@localhost").directTcp(false).ptcp(false).build());
    connectSoon(alice, "echo").close();

    int deadPort = node3.port();
    long killed = System.nanoTime();
    node3.server().close();
    VirtualChannel again = connectSoon(alice, "echo", Duration.ofSeconds(10));
    Duration took = Duration.ofNanos(System.nanoTime() - killed);
    System.out.println("FleetTest: bob reachable again " + took.toMillis() + " ms after his node stopped");
    assertThat(took).isLessThan(Duration.ofSeconds(10));
    assertThat(again.route().toString()).doesNotContain(":" + deadPort);
    TestNet.assertEchoedIntact(again, 1 << 20, 11, 65_536);
    again.close();
  }

  /** Connects once the listener's node has written its registration (tens of ms). */
  private static VirtualChannel connectSoon(Q2qClient alice, String service) throws Exception {
    return connectSoon(alice, service, Duration.ofSeconds(5));
  }

  private static VirtualChannel connectSoon(Q2qClient alice, String service, Duration within) throws Exception {
    long deadline = System.nanoTime() + within.toNanos();
    while (true) {
      try {
        return alice.connect(BOB, service).get(20, TimeUnit.SECONDS);
      } catch (ExecutionException e) {
        if (System.nanoTime() > deadline || !String.valueOf(e.getMessage()).contains("no listener")) {
          throw e;
        }
        Thread.sleep(50);
      }
    }
  }
}
