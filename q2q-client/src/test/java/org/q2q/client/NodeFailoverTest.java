package org.q2q.client;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.q2q.certstore.Address;
import org.q2q.certstore.ServerDirectory.Endpoint;
import org.q2q.client.files.FileReceiver;
import org.q2q.client.files.FileSender;
import org.q2q.client.files.FileSet;
import org.q2q.client.files.TransferProgress;
import org.q2q.server.LoopbackServer;

/**
 * A domain served by several nodes: clients given several servers connect to the first that
 * answers, learn the others from the node they reach (Nodes), and move to another node when theirs
 * goes away, listeners registering their services there by themselves. Two nodes here are two
 * servers on copies of one data folder (the same CA) without a shared database, real TLS on
 * loopback: what a node knows of listeners, the client had to tell it.
 */
@Timeout(120)
class NodeFailoverTest {
  private static final Address BOB = Address.parse("bob@localhost");
  /**
   * How soon a listener whose node stopped is registered on another node (generous for CI; on
   * this machine it takes well under a second: the stream ends at once, the first retry comes
   * within the test's 100 ms backoff ceiling and the stopped node refuses the connection).
   */
  private static final Duration REREGISTER_BOUND = Duration.ofSeconds(10);

  @TempDir Path dir;

  private static int closedPort() throws Exception {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort(); // nobody listens once closed: a connection is refused at once
    }
  }

  private static int portOf(String hostPort) {
    return ServerAddress.parse(hostPort).port();
  }

  @Test
  void aDeadFirstServerIsPassedOverAtOnce() throws Exception {
    try (TestNet net = new TestNet(dir)) {
      LoopbackServer live = net.server("localhost");
      String both = "127.0.0.1:" + closedPort() + "," + live.hostPort();
      long start = System.nanoTime();
      Q2qClient bob = net.track(net.builder(live, "bob@localhost").server(both).build());
      bob.listen("echo", TestNet::echo).ready().get(10, TimeUnit.SECONDS);
      Duration took = Duration.ofNanos(System.nanoTime() - start);
      assertThat(bob.server()).isEqualTo(live.hostPort());
      assertThat(took).as("registered through the second server after the first refused").isLessThan(Duration.ofSeconds(3));

      // the registration calls try the servers in order too
      Registrar.Identification id = new Registrar().identify(Address.parse("localhost"),
          ServerAddress.parseList(both), null);
      assertThat(id.fingerprint()).isEqualTo(live.server().ca().fingerprint());

      Q2qClient alice = net.track(net.builder(live, "alice@localhost").server(both).build());
      assertThat(PresenceReconnectTest.roundTrip(alice.connect(BOB, "echo").get(20, TimeUnit.SECONDS), "hi"))
          .isEqualTo("hi");
    }
  }

  @Test
  void aListenerMovesToTheOtherNodeWhenItsNodeStopsAndASenderReachesItThere() throws Exception {
    try (TestNet net = new TestNet(dir).relayOnly()) { // the relay must meet at the node bob moved to
      LoopbackServer node1 = net.server("localhost");
      LoopbackServer node2 = net.anotherNode(node1, b -> {});
      String both = node1.hostPort() + "," + node2.hostPort();
      Q2qClient bob = net.track(net.builder(node1, "bob@localhost").server(both).build());
      Path inbox = Files.createDirectories(dir.resolve("inbox"));
      AtomicReference<FileReceiver.Received> received = new AtomicReference<>();
      bob.listen("file", ch -> received.set(new FileReceiver(inbox, FileReceiver.Options.defaults(), Clock.systemUTC())
          .receive(ch, TransferProgress.NONE))).ready().get(10, TimeUnit.SECONDS);
      bob.listen("echo", TestNet::echo).ready().get(10, TimeUnit.SECONDS);
      assertThat(portOf(bob.server())).isEqualTo(node1.port());
      Q2qClient alice = net.track(net.builder(node1, "alice@localhost").server(both).build());
      assertThat(PresenceReconnectTest.roundTrip(alice.connect(BOB, "echo").get(20, TimeUnit.SECONDS), "before"))
          .isEqualTo("before");
      assertThat(portOf(alice.server())).isEqualTo(node1.port());

      long stopped = System.nanoTime();
      node1.server().close();
      TestNet.await(() -> bob.presenceState() == PresenceState.ONLINE && portOf(bob.server()) == node2.port(),
          REREGISTER_BOUND, "bob to register on node 2");
      Duration took = Duration.ofNanos(System.nanoTime() - stopped);
      System.out.println("NodeFailoverTest: bob listening again on node 2 " + took.toMillis() + " ms after node 1 stopped");
      assertThat(took).isLessThan(REREGISTER_BOUND);
      TestNet.await(() -> alice.peerSessionCount() == 0, Duration.ofSeconds(20), "the session relayed by node 1 to end");

      byte[] content = TestNet.bytes(300_000, 7);
      Path file = TestNet.tempFile(Files.createDirectories(dir.resolve("out")), "report.bin", content);
      VirtualChannel ch = alice.connect(BOB, "file").get(20, TimeUnit.SECONDS);
      assertThat(ch.route().kind()).isEqualTo(Route.Kind.RELAY);
      assertThat(portOf(alice.server())).isEqualTo(node2.port());
      FileSender.Sent sent = new FileSender(Clock.systemUTC(), Duration.ofSeconds(30))
          .send(ch, FileSet.of(List.of(file)), TransferProgress.NONE);
      assertThat(sent.bytes()).isEqualTo(content.length);
      TestNet.await(() -> received.get() != null, Duration.ofSeconds(20), "bob to receive the file");
      assertThat(Files.readAllBytes(inbox.resolve("report.bin"))).isEqualTo(content);
    }
  }

  @Test
  void aSenderWhoseNodeGoesAwayDuringInboundAsksAnotherNode() throws Exception {
    try (TestNet net = new TestNet(dir)) {
      LoopbackServer node1 = net.server("localhost");
      LoopbackServer node2 = net.anotherNode(node1, b -> {});
      // on node 1, a session of bob's that never answers, so alice's Inbound there waits...
      Address domain = Address.ofDomain("localhost");
      io.grpc.ManagedChannel toNode1 = org.q2q.client.internal.grpc.PresenceChannels.open(
          ServerAddress.parse(node1.hostPort()), domain, org.q2q.client.internal.grpc.PresenceChannels.trustingCa(
              domain, node1.server().ca().certificate(), Clock.systemUTC()), node1.issueIdentity("bob@localhost"));
      io.netty.channel.DefaultEventLoop loop = new io.netty.channel.DefaultEventLoop();
      CompletableFuture<org.q2q.proto.InboundQuery> asked = new CompletableFuture<>();
      try (org.q2q.client.internal.presence.PresenceSession stuck = new org.q2q.client.internal.presence.PresenceSession(
          "bob@localhost (stuck)", org.q2q.proto.PresenceGrpc.newStub(toNode1), loop, Clock.systemUTC(),
          new org.q2q.client.internal.presence.PresenceSession.Timing(Duration.ofSeconds(15), Duration.ofSeconds(45),
              Duration.ofMillis(100), Duration.ofSeconds(2)),
          new org.q2q.client.internal.presence.PresenceSession.Handler() {
            @Override
            public CompletableFuture<org.q2q.proto.InboundAnswer> inboundQuery(org.q2q.proto.InboundQuery q) {
              asked.complete(q);
              return new CompletableFuture<>(); // never answered
            }

            @Override
            public void relayOpen(org.q2q.proto.RelayOpen notice) {}
          }, () -> {})) {
        stuck.offer("echo", "").get(10, TimeUnit.SECONDS);
        // ...and the real bob on node 2
        Q2qClient bob = net.client(node2, "bob@localhost");
        bob.listen("echo", TestNet::echo).ready().get(10, TimeUnit.SECONDS);

        Q2qClient alice = net.track(net.builder(node1, "alice@localhost")
            .server(node1.hostPort() + "," + node2.hostPort()).build());
        CompletableFuture<VirtualChannel> ch = alice.connect(BOB, "echo");
        asked.get(10, TimeUnit.SECONDS); // alice's Inbound waits at node 1
        node1.server().close();
        assertThat(PresenceReconnectTest.roundTrip(ch.get(20, TimeUnit.SECONDS), "elsewhere")).isEqualTo("elsewhere");
        assertThat(portOf(alice.server())).isEqualTo(node2.port());
      } finally {
        toNode1.shutdownNow();
        loop.shutdownGracefully(0, 1, TimeUnit.SECONDS);
      }
    }
  }

  @Test
  void aListenerLeavesANodeThatFallsSilentForAnother() throws Exception {
    try (TestNet net = new TestNet(dir)) {
      // node 1 is reached through a proxy that can hang (it then still accepts connections, but
      // moves nothing), and says so when asked for the domain's nodes
      AtomicReference<List<Endpoint>> live = new AtomicReference<>(List.of());
      LoopbackServer node1 = net.server("localhost", c -> c, b -> b.nodes(live::get));
      LoopbackServer node2 = net.anotherNode(node1, b -> {});
      try (PresenceHeartbeatTest.FreezableProxy proxy = new PresenceHeartbeatTest.FreezableProxy(node1.port())) {
        live.set(List.of(new Endpoint("127.0.0.1", proxy.port()), new Endpoint("127.0.0.1", node2.port())));
        String both = "127.0.0.1:" + proxy.port() + "," + node2.hostPort();
        Q2qClient bob = net.track(net.builder(node1, "bob@localhost").server(both)
            .presenceHeartbeat(Duration.ofMillis(300), Duration.ofSeconds(2)).build());
        bob.listen("echo", TestNet::echo).ready().get(10, TimeUnit.SECONDS);
        assertThat(portOf(bob.server())).isEqualTo(proxy.port());

        long frozen = System.nanoTime();
        proxy.freeze(true);
        // heartbeat timeout (2 s) plus an interval, then a connection to node 2: well within the bound
        TestNet.await(() -> bob.presenceState() == PresenceState.ONLINE && portOf(bob.server()) == node2.port(),
            REREGISTER_BOUND, "bob to leave the silent node for node 2");
        System.out.println("NodeFailoverTest: bob listening on node 2 "
            + Duration.ofNanos(System.nanoTime() - frozen).toMillis() + " ms after node 1 fell silent");

        Q2qClient alice = net.track(net.builder(node2, "alice@localhost").build());
        assertThat(PresenceReconnectTest.roundTrip(alice.connect(BOB, "echo").get(20, TimeUnit.SECONDS), "moved"))
            .isEqualTo("moved");
      }
    }
  }

  @Test
  void aClientGivenOneNodeLearnsTheOthersAndMovesToOneOfThem() throws Exception {
    int port1 = closedPort();
    int port2 = closedPort();
    List<Endpoint> live = List.of(new Endpoint("127.0.0.1", port1), new Endpoint("127.0.0.1", port2));
    try (TestNet net = new TestNet(dir)) {
      LoopbackServer node1 = net.server("localhost", c -> c, b -> b.port(port1).nodes(() -> live));
      LoopbackServer node2 = net.anotherNode(node1, b -> b.port(port2).nodes(() -> List.of(live.get(1), live.get(0))));
      Q2qClient bob = net.client(node1, "bob@localhost"); // remembers node 1 only
      bob.listen("echo", TestNet::echo).ready().get(10, TimeUnit.SECONDS);
      assertThat(portOf(bob.server())).isEqualTo(port1);
      TestNet.await(() -> bob.knownServers().contains(new ServerAddress("127.0.0.1", port2)), Duration.ofSeconds(10),
          "bob to learn node 2 from node 1");

      long stopped = System.nanoTime();
      node1.server().close();
      TestNet.await(() -> bob.presenceState() == PresenceState.ONLINE && portOf(bob.server()) == port2,
          REREGISTER_BOUND, "bob to move to node 2");
      System.out.println("NodeFailoverTest: bob (given node 1 only) listening on node 2 "
          + Duration.ofNanos(System.nanoTime() - stopped).toMillis() + " ms after node 1 stopped");

      Q2qClient alice = net.track(net.builder(node2, "alice@localhost").build());
      CompletableFuture<VirtualChannel> ch = alice.connect(BOB, "echo");
      assertThat(PresenceReconnectTest.roundTrip(ch.get(20, TimeUnit.SECONDS), "after")).isEqualTo("after");
    }
  }
}
