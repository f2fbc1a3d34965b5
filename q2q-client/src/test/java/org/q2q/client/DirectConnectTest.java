package org.q2q.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.google.protobuf.ByteString;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioSocketChannel;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.q2q.certstore.Address;
import org.q2q.certstore.Certificates;
import org.q2q.certstore.ClientHome;
import org.q2q.certstore.Identity;
import org.q2q.client.internal.grpc.DomainServers;
import org.q2q.client.internal.peer.PeerSession;
import org.q2q.client.internal.peer.PeerSessions;
import org.q2q.proto.InboundRequest;
import org.q2q.proto.Listener;
import org.q2q.proto.PresenceGrpc;
import org.q2q.server.LoopbackServer;
import org.q2q.server.MutableClock;

/**
 * Direct TCP between peers (both ways), the race against the relay, the session cache and the
 * one connect deadline, with real sockets, real TLS and a real presence server on loopback.
 */
@Timeout(90)
class DirectConnectTest {
  private static final Address BOB = Address.parse("bob@localhost");
  private static final Address ALICE = Address.parse("alice@localhost");

  @TempDir Path dir;
  private TestNet net;
  private LoopbackServer server;
  private final List<AutoCloseable> closeLater = new ArrayList<>();

  @BeforeEach
  void start() throws Exception {
    net = new TestNet(dir).noPtcp(); // TCP against the relay; PtcpConnectTest races PTCP
    server = net.server("localhost");
  }

  @AfterEach
  void stop() throws Exception {
    for (AutoCloseable c : closeLater) {
      c.close();
    }
    net.close();
  }

  /** Records what a connect tried, in order. */
  static final class Attempts implements ConnectionListener {
    final List<String> log = Collections.synchronizedList(new ArrayList<>());
    final AtomicInteger started = new AtomicInteger();
    final AtomicInteger reused = new AtomicInteger();

    @Override
    public void attemptStart(Address to, Route route) {
      started.incrementAndGet();
      log.add("start " + route);
    }

    @Override
    public void attemptFailed(Address to, Route route, Throwable cause) {
      log.add("failed " + route + ": " + cause.getMessage());
    }

    @Override
    public void attemptWon(Address to, Route route) {
      log.add("won " + route);
    }

    @Override
    public void sessionReused(Address to, Route route) {
      reused.incrementAndGet();
      log.add("reused " + route);
    }
  }

  private Q2qClient bob(java.util.function.UnaryOperator<Q2qClient.Builder> more) throws Exception {
    Q2qClient bob = net.track(more.apply(net.builder(server, "bob@localhost")).build());
    bob.listen("echo", TestNet::echo).ready().get(10, TimeUnit.SECONDS);
    return bob;
  }

  private Q2qClient alice(Attempts attempts) throws Exception {
    return net.track(net.builder(server, "alice@localhost").connectionListener(attempts).build());
  }

  /** Sends {@code size} random bytes through an echo channel and checks they come back intact. */
  static void echoIntact(VirtualChannel ch, int size) throws Exception {
    byte[] sent = TestNet.bytes(size, size);
    CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
      try (OutputStream out = ch.outputStream()) {
        out.write(sent);
      } catch (Exception e) {
        throw new java.util.concurrent.CompletionException(e);
      }
    });
    byte[] got = ch.inputStream().readAllBytes();
    writer.get(30, TimeUnit.SECONDS);
    assertThat(got).isEqualTo(sent);
  }

  private static int closedPort() throws Exception {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  /**
   * A loopback address that never answers a SYN: a listening socket whose accept queue is full
   * drops new SYNs (as a firewall's DROP does), so a connect just waits.
   */
  private InetSocketAddress blackHole() throws Exception {
    ServerSocket ss = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
    closeLater.add(ss);
    InetSocketAddress at = new InetSocketAddress(InetAddress.getLoopbackAddress(), ss.getLocalPort());
    for (int i = 0; i < 8; i++) {
      Socket s = new Socket();
      closeLater.add(s);
      try {
        s.connect(at, 300);
      } catch (java.net.SocketTimeoutException full) {
        return at;
      }
    }
    throw new AssertionError("could not fill the accept queue of " + at);
  }

  @Test
  void onLoopbackAutoPicksDirectTcpAndTheBytesArriveIntact() throws Exception {
    Q2qClient bob = bob(b -> b);
    Attempts attempts = new Attempts();
    Q2qClient alice = alice(attempts);

    VirtualChannel ch = alice.connect(BOB, "echo").get(20, TimeUnit.SECONDS);
    assertThat(ch.route().kind()).isEqualTo(Route.Kind.TCP);
    assertThat(ch.route().toString()).startsWith("direct tcp ").endsWith(":" + bob.directTcpPort());
    assertThat(ch.remoteAddress()).isEqualTo(BOB);
    assertThat(attempts.log).noneMatch(l -> l.startsWith("start relay")); // decided long before the soft timeout
    echoIntact(ch, 4 << 20);
  }

  @Test
  void aClosedPortLosesToTheRelayQuicklyAndTheDataIsIntact() throws Exception {
    int closed = closedPort();
    bob(b -> b.advertiseTcp(List.of(new InetSocketAddress("127.0.0.1", closed))).directTcp(true));
    Attempts attempts = new Attempts();
    Q2qClient alice = net.track(net.builder(server, "alice@localhost").connectionListener(attempts)
        .directTcp(false).build()); // no reverse TCP either: only the relay can carry it

    long t0 = System.nanoTime();
    VirtualChannel ch = alice.connect(BOB, "echo").get(20, TimeUnit.SECONDS);
    long ms = (System.nanoTime() - t0) / 1_000_000;
    assertThat(ch.route().kind()).isEqualTo(Route.Kind.RELAY);
    assertThat(attempts.log).anyMatch(l -> l.startsWith("failed direct tcp 127.0.0.1:" + closed + ": cannot connect"));
    assertThat(ms).as("refused at once, so the relay starts without waiting for the soft timeout").isLessThan(5_000);
    echoIntact(ch, 1 << 20);
  }

  @Test
  void aBlackHoledAddressLosesToTheRelayAfterTheSoftTimeout() throws Exception {
    InetSocketAddress hole = blackHole();
    bob(b -> b.advertiseTcp(List.of(hole)));
    Attempts attempts = new Attempts();
    Q2qClient alice = net.track(net.builder(server, "alice@localhost").connectionListener(attempts)
        .directTcp(false).build());

    long t0 = System.nanoTime();
    VirtualChannel ch = alice.connect(BOB, "echo").get(20, TimeUnit.SECONDS);
    long ms = (System.nanoTime() - t0) / 1_000_000;
    assertThat(ch.route().kind()).isEqualTo(Route.Kind.RELAY);
    // soft timeout (250 ms) plus a few loopback round trips and TLS; nowhere near a SYN timeout
    assertThat(ms).isLessThan(3_000);
    assertThat(attempts.log).contains("start direct tcp " + Route.hostPort(hole))
        .anyMatch(l -> l.startsWith("failed direct tcp " + Route.hostPort(hole) + ": lost: relay through"));
    echoIntact(ch, 1 << 20);
  }

  @Test
  void reverseTcpWorksWhenOnlyTheConnectorCanAccept() throws Exception {
    int closed = closedPort();
    bob(b -> b.advertiseTcp(List.of(new InetSocketAddress("127.0.0.1", closed))));
    Attempts attempts = new Attempts();
    Q2qClient alice = alice(attempts);

    VirtualChannel ch = alice.connect(BOB, "echo", Transport.DIRECT).get(20, TimeUnit.SECONDS);
    assertThat(ch.route().kind()).isEqualTo(Route.Kind.REVERSE_TCP);
    assertThat(attempts.log).anyMatch(l -> l.startsWith("won reverse tcp"));
    echoIntact(ch, 1 << 20);
  }

  @Test
  void aDialBackThatArrivesBeforeTheConnectorWaitsIsKeptForIt() throws Exception {
    int closed = closedPort();
    // bob dials back 1 ms after answering: long before alice has planned her race
    bob(b -> b.advertiseTcp(List.of(new InetSocketAddress("127.0.0.1", closed))).softTimeout(Duration.ofMillis(1)));
    Q2qClient alice = alice(new Attempts());
    VirtualChannel ch = alice.connect(BOB, "echo", Transport.DIRECT).get(20, TimeUnit.SECONDS);
    assertThat(ch.route().kind()).isEqualTo(Route.Kind.REVERSE_TCP);
    echoIntact(ch, 1 << 16);
  }

  @Test
  void twoConcurrentConnectsToOnePeerShareOneSession() throws Exception {
    bob(b -> b);
    Attempts attempts = new Attempts();
    Q2qClient alice = alice(attempts);

    CompletableFuture<VirtualChannel> a = alice.connect(BOB, "echo");
    CompletableFuture<VirtualChannel> b = alice.connect(BOB, "echo");
    VirtualChannel ca = a.get(20, TimeUnit.SECONDS);
    VirtualChannel cb = b.get(20, TimeUnit.SECONDS);
    assertThat(ca.id()).isNotEqualTo(cb.id());
    assertThat(attempts.log.stream().filter(l -> l.startsWith("won"))).hasSize(1);
    assertThat(alice.peerSessionCount()).isEqualTo(1);
    echoIntact(ca, 1000);
    echoIntact(cb, 1000);
  }

  @Test
  void prepareOpensTheSessionTheNextConnectUsesAndFailsAsConnectWould() throws Exception {
    bob(b -> b);
    Attempts attempts = new Attempts();
    Q2qClient alice = alice(attempts);

    Route route = alice.prepare(BOB, "echo").get(20, TimeUnit.SECONDS);
    assertThat(route.kind()).isEqualTo(Route.Kind.TCP);
    assertThat(alice.peerSessionCount()).isEqualTo(1);
    VirtualChannel ch = alice.connect(BOB, "echo").get(20, TimeUnit.SECONDS);
    assertThat(attempts.reused.get()).isEqualTo(1); // no second session, no second race
    assertThat(attempts.log.stream().filter(l -> l.startsWith("won"))).hasSize(1);
    echoIntact(ch, 1000);

    assertThatThrownBy(() -> alice.prepare(Address.parse("nobody@localhost"), "echo").get(20, TimeUnit.SECONDS))
        .cause().isInstanceOfSatisfying(ConnectFailedException.class, e -> {
          assertThat(e.reason()).isEqualTo(Q2qException.Reason.NOT_FOUND);
          assertThat(e.getMessage()).startsWith("cannot reach nobody@localhost/echo: ");
        });
    assertThatThrownBy(() -> alice.prepare(Address.parse("localhost"), "echo").get(5, TimeUnit.SECONDS))
        .cause().isInstanceOfSatisfying(ConnectFailedException.class,
            e -> assertThat(e.reason()).isEqualTo(Q2qException.Reason.INVALID));
  }

  @Test
  void aSessionAcceptedFromAPeerServesConnectsBackToIt() throws Exception {
    Attempts bobs = new Attempts();
    Q2qClient bob = bob(b -> b.connectionListener(bobs));
    Q2qClient alice = alice(new Attempts());
    alice.listen("echo", TestNet::echo).ready().get(10, TimeUnit.SECONDS);
    echoIntact(alice.connect(BOB, "echo").get(20, TimeUnit.SECONDS), 100);

    TestNet.await(() -> bob.peerSessionCount() == 1, Duration.ofSeconds(5), "bob to cache the accepted session");
    VirtualChannel back = bob.connect(ALICE, "echo").get(20, TimeUnit.SECONDS);
    assertThat(bobs.reused.get()).isEqualTo(1);
    assertThat(bobs.started.get()).isZero();
    assertThat(back.route().kind()).isEqualTo(Route.Kind.TCP);
    echoIntact(back, 1 << 16);
  }

  @Test
  void anImpostorAtTheAdvertisedAddressFailsVerificationAndTheRaceFallsThrough() throws Exception {
    // carol accepts direct connections; bob's answer (stale, say) points at her port
    Q2qClient carol = net.track(net.builder(server, "carol@localhost").build());
    carol.listen("other", TestNet::echo).ready().get(10, TimeUnit.SECONDS);
    InetSocketAddress carolsPort = new InetSocketAddress("127.0.0.1", carol.directTcpPort());
    bob(b -> b.advertiseTcp(List.of(carolsPort)));
    Attempts attempts = new Attempts();
    Q2qClient alice = net.track(net.builder(server, "alice@localhost").connectionListener(attempts)
        .directTcp(false).build());

    VirtualChannel ch = alice.connect(BOB, "echo").get(20, TimeUnit.SECONDS);
    assertThat(ch.remoteAddress()).isEqualTo(BOB);
    assertThat(ch.route().kind()).isEqualTo(Route.Kind.RELAY);
    assertThat(attempts.log).anyMatch(l -> l.startsWith("failed direct tcp " + Route.hostPort(carolsPort))
        && l.contains("certificate"));
    assertThat(carol.peerSessionCount()).isZero(); // nothing was left behind at the impostor
    echoIntact(ch, 1 << 16);
  }

  @Test
  void aStaleAddressBeforeTheRightOneCostsOneFailedHandshakeThenTheNextAddressWins() throws Exception {
    Q2qClient carol = net.track(net.builder(server, "carol@localhost").build());
    carol.listen("other", TestNet::echo).ready().get(10, TimeUnit.SECONDS);
    InetSocketAddress stale = new InetSocketAddress("127.0.0.1", carol.directTcpPort());
    int bobsPort;
    try (ServerSocket probe = new ServerSocket(0)) {
      bobsPort = probe.getLocalPort();
    }
    InetSocketAddress right = new InetSocketAddress("127.0.0.1", bobsPort);
    bob(b -> b.tcpPort(bobsPort).advertiseTcp(List.of(stale, right)).softTimeout(Duration.ofSeconds(5)));
    Attempts attempts = new Attempts();
    Q2qClient alice = net.track(net.builder(server, "alice@localhost").connectionListener(attempts)
        .softTimeout(Duration.ofSeconds(5)).directTcp(false).build());

    VirtualChannel ch = alice.connect(BOB, "echo").get(20, TimeUnit.SECONDS);
    assertThat(ch.route()).isEqualTo(Route.direct(Route.Kind.TCP, right));
    // the second address waited while the first was connected and securing, then went on at once
    assertThat(attempts.log).containsSubsequence("start direct tcp " + Route.hostPort(stale),
        "start direct tcp " + Route.hostPort(right));
    assertThat(attempts.log).anyMatch(l -> l.startsWith("failed direct tcp " + Route.hostPort(stale)));
    echoIntact(ch, 1000);
  }

  @Test
  void aForgedExpiredOrReplayedListenerIdOnADirectConnectionIsRefused() throws Exception {
    MutableClock bobsClock = new MutableClock();
    Q2qClient bob = bob(b -> b.clock(bobsClock));
    ClientHome home = net.home(server, "alice@localhost");
    Identity alice = home.load(ALICE).orElseThrow();
    EventLoopGroup loops = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    closeLater.add(() -> loops.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync());
    DomainServers servers = new DomainServers(alice, home.pins(), new ServerLocator(net.env()),
        Optional.of(server.hostPort()), Clock.systemUTC(), Runnable::run);
    closeLater.add(servers);
    PeerSessions sessions = new PeerSessions(alice, servers::caFor, Clock.systemUTC(),
        ch -> false, cfg -> cfg.handshakeTimeout(Duration.ofSeconds(10)));
    InetSocketAddress bobsPort = new InetSocketAddress("127.0.0.1", bob.directTcpPort());

    // forged: an id no server issued
    assertThatThrownBy(() -> dial(loops, sessions, bobsPort, "forged-id").get(20, TimeUnit.SECONDS))
        .hasRootCauseInstanceOf(PeerSessionException.class)
        .hasMessageContaining("refused the session: unknown or already used listener id");

    // replayed: a real id works once, then is used up
    String id = inbound(servers, alice).getId();
    PeerSession first = dial(loops, sessions, bobsPort, id).get(20, TimeUnit.SECONDS);
    assertThat(first.remoteAddress()).isEqualTo(BOB);
    first.close();
    assertThatThrownBy(() -> dial(loops, sessions, bobsPort, id).get(20, TimeUnit.SECONDS))
        .hasMessageContaining("refused the session: unknown or already used listener id");

    // expired: bob's clock passes the id's lifetime before the connection comes
    String late = inbound(servers, alice).getId();
    bobsClock.advance(Duration.ofMinutes(3));
    assertThatThrownBy(() -> dial(loops, sessions, bobsPort, late).get(20, TimeUnit.SECONDS))
        .hasMessageContaining("refused the session: expired listener id");
  }

  private Listener inbound(DomainServers servers, Identity me) {
    InboundRequest.Builder req = InboundRequest.newBuilder().setTo(BOB.toString()).setService("echo");
    me.chain().forEach(c -> req.addCertificateChain(ByteString.copyFrom(Certificates.toDer(c))));
    return PresenceGrpc.newBlockingStub(servers.own().channel()).withDeadlineAfter(10, TimeUnit.SECONDS)
        .inbound(req.build()).getListeners(0);
  }

  private static CompletableFuture<PeerSession> dial(EventLoopGroup loops, PeerSessions sessions,
      InetSocketAddress to, String listenerId) throws Exception {
    Channel ch = new Bootstrap().group(loops).channel(NioSocketChannel.class)
        .handler(new ChannelInboundHandlerAdapter()).connect(to).sync().channel();
    return sessions.initiate(ch, BOB, listenerId, Route.direct(Route.Kind.TCP, to));
  }

  @Test
  void ipv6LoopbackWorksWhereTheMachineHasIt() throws Exception {
    InetAddress v6 = InetAddress.getByName("::1");
    int port;
    try (ServerSocket probe = new ServerSocket(0, 1, v6)) {
      port = probe.getLocalPort();
    } catch (java.io.IOException e) {
      assumeTrue(false, "no IPv6 loopback on this machine: " + e.getMessage());
      return;
    }
    int p = port;
    bob(b -> b.tcpPort(p).advertiseTcp(List.of(new InetSocketAddress(v6, p))));
    Q2qClient alice = alice(new Attempts());

    VirtualChannel ch = alice.connect(BOB, "echo", Transport.DIRECT).get(20, TimeUnit.SECONDS);
    assertThat(ch.route().toString()).isEqualTo("direct tcp [::1]:" + p);
    echoIntact(ch, 1 << 16);
  }

  @Test
  void relayAndDirectCanBeForced() throws Exception {
    bob(b -> b);
    Q2qClient alice = alice(new Attempts());
    VirtualChannel relayed = alice.connect(BOB, "echo", Transport.RELAY).get(20, TimeUnit.SECONDS);
    assertThat(relayed.route().kind()).isEqualTo(Route.Kind.RELAY);
    echoIntact(relayed, 1000);
    // the cached relayed session may not carry a direct-only connect
    VirtualChannel direct = alice.connect(BOB, "echo", Transport.DIRECT).get(20, TimeUnit.SECONDS);
    assertThat(direct.route().kind()).isEqualTo(Route.Kind.TCP);
    echoIntact(direct, 1000);
  }

  @Test
  void directOnlyFailsClearlyWhenThePeerHasNoDirectPath() throws Exception {
    bob(b -> b.directTcp(false));
    Q2qClient alice = net.track(net.builder(server, "alice@localhost").directTcp(false).build());
    assertThatThrownBy(() -> alice.connect(BOB, "echo", Transport.DIRECT).get(20, TimeUnit.SECONDS))
        .hasCauseInstanceOf(ConnectFailedException.class)
        .hasMessageContaining("relay: not used with transport direct");
  }

  @Test
  void theWholeConnectEndsWithinItsDeadlineWhenThePresenceServerIsSilent() throws Exception {
    ServerSocket silent = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    closeLater.add(silent);
    List<Socket> held = Collections.synchronizedList(new ArrayList<>());
    Thread acceptor = new Thread(() -> {
      try {
        while (true) {
          held.add(silent.accept()); // accepts, never says a word
        }
      } catch (java.io.IOException closed) {
        // the test is over
      }
    });
    acceptor.setDaemon(true);
    acceptor.start();
    closeLater.add(() -> held.forEach(s -> {
      try {
        s.close();
      } catch (java.io.IOException e) {
        // closing anyway
      }
    }));
    String silentAt = "127.0.0.1:" + silent.getLocalPort();

    // our own domain's server is silent: Inbound never answers
    Q2qClient alice = net.track(net.builder(server, "alice@localhost").server(silentAt)
        .connectTimeout(Duration.ofMillis(1500)).build());
    assertEndsWithin(() -> alice.connect(BOB, "echo"), 1500, "cannot reach bob@localhost/echo");

    // a foreign domain whose server is silent: learning its CA (Identify) is bounded too
    Q2qClient alice2 = net.track(net.builder(server, "alice@localhost")
        .environment(java.util.Map.of("Q2Q_SERVERS", "silent.test=" + silentAt + ",localhost=" + server.hostPort()))
        .connectTimeout(Duration.ofMillis(1500)).build());
    assertEndsWithin(() -> alice2.connect(Address.parse("bob@silent.test"), "echo"), 1500, "silent.test");
  }

  private static void assertEndsWithin(java.util.function.Supplier<CompletableFuture<VirtualChannel>> connect,
      long budgetMillis, String mentioned) {
    long t0 = System.nanoTime();
    CompletableFuture<VirtualChannel> f = connect.get();
    assertThatThrownBy(() -> f.get(budgetMillis + 5_000, TimeUnit.MILLISECONDS))
        .isInstanceOf(ExecutionException.class)
        .cause().isInstanceOf(ConnectFailedException.class).hasMessageContaining(mentioned);
    long ms = (System.nanoTime() - t0) / 1_000_000;
    assertThat(ms).as("the connect ends at its deadline, not after a sum of per-step timeouts")
        .isLessThan(budgetMillis + 1_000);
  }

  @Test
  void aDirectSessionOutlivesARestartOfThePresenceServer() throws Exception {
    int port;
    try (ServerSocket probe = new ServerSocket(0)) {
      port = probe.getLocalPort();
    }
    LoopbackServer own = net.server("localhost", c -> c, b -> b.port(port));
    Q2qClient bob = net.track(net.builder(own, "bob@localhost").build());
    bob.listen("echo", TestNet::echo).ready().get(10, TimeUnit.SECONDS);
    Q2qClient alice = net.track(net.builder(own, "alice@localhost").build());
    VirtualChannel before = alice.connect(BOB, "echo").get(20, TimeUnit.SECONDS);
    assertThat(before.route().kind()).isEqualTo(Route.Kind.TCP);

    own.restart();
    TestNet.await(() -> bob.presenceState() == PresenceState.ONLINE, Duration.ofSeconds(20), "bob to come back");
    echoIntact(before, 1 << 16); // the bytes never went through the server
    assertThat(alice.peerSessionCount()).isEqualTo(1);
  }

  @Test
  void anUnusedSessionClosesAfterItsTimeout() throws Exception {
    bob(b -> b);
    Q2qClient alice = net.track(net.builder(server, "alice@localhost")
        .peerHeartbeat(Duration.ofMillis(100), Duration.ofSeconds(5))
        .unusedSessionTimeout(Duration.ofMillis(500)).build());
    VirtualChannel ch = alice.connect(BOB, "echo").get(20, TimeUnit.SECONDS);
    echoIntact(ch, 10);
    ch.close();
    TestNet.await(() -> alice.peerSessionCount() == 0, Duration.ofSeconds(10), "the unused session to close");
  }
}
