package org.q2q.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.q2q.certstore.Address;
import org.q2q.certstore.ServiceAddress;
import org.q2q.client.forward.AllowList;
import org.q2q.client.forward.ConnectionRecord;
import org.q2q.client.forward.Exposer;
import org.q2q.client.forward.Forwarder;
import org.q2q.client.forward.Gateway;
import org.q2q.client.forward.HostPort;
import org.q2q.client.forward.PortRange;
import org.q2q.client.forward.ReverseForwarder;
import org.q2q.client.forward.TunnelEvents;
import org.q2q.server.LoopbackServer;

/** The forward library on loopback: expose + forward, half-close, resets, allow lists, gateway. */
@Timeout(90)
class ForwardTunnelTest {
  @TempDir Path dir;
  private TestNet net;
  private LoopbackServer server;
  private ServerSocket echo;
  private final List<ConnectionRecord> records = new CopyOnWriteArrayList<>();
  private final TunnelEvents events = new TunnelEvents() {
    @Override
    public void closed(ConnectionRecord r) {
      records.add(r);
    }
  };

  @BeforeEach
  void start() throws Exception {
    net = new TestNet(dir);
    server = net.server("localhost");
    echo = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress());
    Thread t = new Thread(() -> {
      while (!echo.isClosed()) {
        try {
          Socket s = echo.accept();
          Thread w = new Thread(() -> echoOne(s));
          w.setDaemon(true);
          w.start();
        } catch (IOException e) {
          return;
        }
      }
    }, "echo");
    t.setDaemon(true);
    t.start();
  }

  /** Echoes until the client's end, then ends its own output (half-close). */
  private static void echoOne(Socket s) {
    try (s) {
      s.getInputStream().transferTo(s.getOutputStream());
      s.shutdownOutput();
      s.getInputStream().read();
    } catch (IOException e) {
      // client gone
    }
  }

  @AfterEach
  void stop() throws IOException {
    echo.close();
    net.close();
  }

  /** Sends {@code data} to the local {@code port}, ends the output, and expects it all back. */
  private static void assertEchoed(int port, byte[] data) throws Exception {
    try (Socket s = new Socket("127.0.0.1", port)) {
      CompletableFuture<byte[]> back = CompletableFuture.supplyAsync(() -> readAll(s));
      s.getOutputStream().write(data);
      s.shutdownOutput();
      assertThat(back.get(30, TimeUnit.SECONDS)).isEqualTo(data);
    }
  }

  private HostPort echoTarget() {
    return new HostPort("127.0.0.1", echo.getLocalPort());
  }

  @Test
  void bytesGoThroughAndHalfCloseIsCarried() throws Exception {
    assertHalfClosedEchoesComeBackWhole(net.client(server, "bob@localhost"), net.client(server, "alice@localhost"));
  }

  /**
   * Bob exposes the echo server, alice forwards a local port to it: three connections that each
   * send 3 MiB and half-close get it all back, every connection ends cleanly on both sides, and all
   * share one peer session.
   */
  private void assertHalfClosedEchoesComeBackWhole(Q2qClient bob, Q2qClient alice) throws Exception {
    try (Exposer ex = Exposer.start(bob, "echo", echoTarget(), AllowList.parse(List.of(), bob.address()), 100, events)) {
      ex.ready().get(30, TimeUnit.SECONDS);
      try (Forwarder f = Forwarder.open(alice, new HostPort("127.0.0.1", 0),
          ServiceAddress.parse("bob@localhost/echo"), 100, events)) {
        byte[] data = TestNet.bytes(3 << 20, 7);
        for (int i = 0; i < 3; i++) {
          assertEchoed(f.localAddress().getPort(), data);
        }
        TestNet.await(() -> records.size() >= 6, Duration.ofSeconds(10), "records");
        assertThat(records).allMatch(ConnectionRecord::clean, "clean").allMatch(r -> r.sent() == data.length);
        assertThat(alice.peerSessionCount()).isEqualTo(1);
      }
    }
  }

  /**
   * Clients on a caller's epoll group: their sessions run on epoll, while the forwarded sockets get
   * NIO loops of their own, because Netty 4.2.18's epoll loses a half-closed socket that later
   * waits to write (SocketTransport); so a half-closed 3 MiB echo still comes back whole.
   */
  @Test
  void clientsOnAnEpollGroupStillCarryHalfClosedConnectionsWhole() throws Exception {
    org.junit.jupiter.api.Assumptions.assumeTrue(io.netty.channel.epoll.Epoll.isAvailable(), "no epoll here");
    io.netty.channel.EventLoopGroup loops = org.q2q.client.internal.net.SocketTransport.EPOLL.newGroup(2,
        new io.netty.util.concurrent.DefaultThreadFactory("epoll-test", true));
    try {
      Q2qClient bob = net.track(net.builder(server, "bob@localhost").eventLoopGroup(loops).build());
      Q2qClient alice = net.track(net.builder(server, "alice@localhost").eventLoopGroup(loops).build());
      assertHalfClosedEchoesComeBackWhole(bob, alice);
      alice.close(); // before their group goes
      bob.close();
    } finally {
      loops.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }
  }

  /**
   * A forwarder whose client has one event loop: its first connection is accepted on that loop,
   * and the connect it starts there must not wait for the direct-TCP listener to bind on the same
   * loop (it failed every connection with BlockingOperationException whenever the two met).
   */
  @Test
  void aForwarderOnAOneLoopClientCarriesItsFirstConnection() throws Exception {
    Q2qClient bob = net.client(server, "bob@localhost");
    Q2qClient alice = net.track(net.builder(server, "alice@localhost").threads(1).build());
    Exposer ex = Exposer.start(bob, "echo", echoTarget(), AllowList.parse(List.of(), bob.address()), 100, events);
    ex.ready().get(30, TimeUnit.SECONDS);
    try (Forwarder f = Forwarder.open(alice, new HostPort("127.0.0.1", 0),
        ServiceAddress.parse("bob@localhost/echo"), 100, events)) {
      byte[] data = TestNet.bytes(64 << 10, 3);
      assertEchoed(f.localAddress().getPort(), data);
    }
  }

  @Test
  void aPeerOutsideTheAllowListIsRefusedAndTheForwarderKeepsListening() throws Exception {
    Q2qClient bob = net.client(server, "bob@localhost");
    Q2qClient carol = net.client(server, "carol@localhost");
    Exposer ex = Exposer.start(bob, "echo", echoTarget(),
        AllowList.parse(List.of("alice@localhost"), bob.address()), 100, events);
    ex.ready().get(30, TimeUnit.SECONDS);
    List<String> failures = new CopyOnWriteArrayList<>();
    try (Forwarder f = Forwarder.open(carol, new HostPort("127.0.0.1", 0),
        ServiceAddress.parse("bob@localhost/echo"), 100, new TunnelEvents() {
          @Override
          public void failed(String id, String peer, String from, String reason) {
            failures.add(reason);
          }
        })) {
      for (int i = 0; i < 2; i++) {
        try (Socket s = new Socket("127.0.0.1", f.localAddress().getPort())) {
          s.setSoTimeout(20_000);
          assertThat(s.getInputStream().read()).isEqualTo(-1);
        }
      }
      TestNet.await(() -> failures.size() == 2, Duration.ofSeconds(10), "failures");
      assertThat(failures.get(0)).contains("carol@localhost is not allowed");
    }
  }

  @Test
  void aResetOnTheTargetSideResetsTheLocalConnection() throws Exception {
    ServerSocket rude = new ServerSocket(0, 5, java.net.InetAddress.getLoopbackAddress());
    Thread t = new Thread(() -> {
      try (Socket s = rude.accept()) {
        s.getInputStream().read();
        s.setSoLinger(true, 0); // RST
      } catch (IOException e) {
        // ignore
      }
    });
    t.setDaemon(true);
    t.start();
    Q2qClient bob = net.client(server, "bob@localhost");
    Q2qClient alice = net.client(server, "alice@localhost");
    Exposer.start(bob, "rude", new HostPort("127.0.0.1", rude.getLocalPort()),
        AllowList.parse(List.of(), bob.address()), 100, events).ready().get(30, TimeUnit.SECONDS);
    try (rude; Forwarder f = Forwarder.open(alice, new HostPort("127.0.0.1", 0),
        ServiceAddress.parse("bob@localhost/rude"), 100, events);
        Socket s = new Socket("127.0.0.1", f.localAddress().getPort())) {
      s.setSoTimeout(20_000);
      s.getOutputStream().write(1);
      assertThatThrownBy(() -> s.getInputStream().read()).isInstanceOf(SocketException.class);
    }
  }

  @Test
  void aResetOnTheLocalSideResetsTheTargetConnection() throws Exception {
    ServerSocket sink = new ServerSocket(0, 5, java.net.InetAddress.getLoopbackAddress());
    CompletableFuture<String> seen = new CompletableFuture<>();
    java.util.concurrent.CountDownLatch gotByte = new java.util.concurrent.CountDownLatch(1);
    Thread t = new Thread(() -> {
      try (Socket s = sink.accept()) {
        s.setSoTimeout(30_000);
        InputStream in = s.getInputStream();
        in.read();
        gotByte.countDown();
        seen.complete(in.read() < 0 ? "end" : "data");
      } catch (SocketException e) {
        seen.complete("reset");
      } catch (IOException e) {
        seen.complete(e.toString());
      }
    });
    t.setDaemon(true);
    t.start();
    Q2qClient bob = net.client(server, "bob@localhost");
    Q2qClient alice = net.client(server, "alice@localhost");
    Exposer.start(bob, "sink", new HostPort("127.0.0.1", sink.getLocalPort()),
        AllowList.parse(List.of(), bob.address()), 100, events).ready().get(30, TimeUnit.SECONDS);
    try (sink; Forwarder f = Forwarder.open(alice, new HostPort("127.0.0.1", 0),
        ServiceAddress.parse("bob@localhost/sink"), 100, events)) {
      Socket s = new Socket("127.0.0.1", f.localAddress().getPort());
      s.getOutputStream().write(1);
      assertThat(gotByte.await(30, TimeUnit.SECONDS)).isTrue(); // spliced end to end
      s.setSoLinger(true, 0);
      s.close(); // RST
      assertThat(seen.get(30, TimeUnit.SECONDS)).isEqualTo("reset");
    }
  }

  @Test
  void aGatewayOpensAPortAndCarriesConnectionsBack() throws Exception {
    Q2qClient gw = net.client(server, "gw@localhost");
    Q2qClient alice = net.client(server, "alice@localhost");
    int port;
    try (ServerSocket probe = new ServerSocket(0)) {
      port = probe.getLocalPort();
    }
    Gateway g = Gateway.start(gw, AllowList.parse(List.of(), gw.address()), new PortRange(port, port), "127.0.0.1",
        100, events);
    g.ready().get(30, TimeUnit.SECONDS);
    ExecutionException refused = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class,
        () -> ReverseForwarder.open(alice, gw.address(), "", port + 1, echoTarget(), 10, events)
            .get(30, TimeUnit.SECONDS));
    assertThat(refused.getCause()).hasMessageContaining("outside");
    ExecutionException wider = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class,
        () -> ReverseForwarder.open(alice, gw.address(), "0.0.0.0", port, echoTarget(), 10, events)
            .get(30, TimeUnit.SECONDS));
    assertThat(wider.getCause()).hasMessageContaining("opens ports on 127.0.0.1 only");
    ReverseForwarder r = ReverseForwarder.open(alice, gw.address(), "", port, echoTarget(), 10, events)
        .get(30, TimeUnit.SECONDS);
    assertThat(r.bound()).isEqualTo("127.0.0.1:" + port);
    byte[] data = TestNet.bytes(1 << 20, 3);
    assertEchoed(port, data);
    r.close();
    // the port closes when its caller goes away: polled, the socket's close completes on its loop
    TestNet.await(() -> g.openPorts() == 0 && !accepts(port), Duration.ofSeconds(10), "port closed");
  }

  /** True if something accepts a TCP connection on loopback {@code port} now. */
  private static boolean accepts(int port) {
    try (Socket s = new Socket()) {
      s.connect(new java.net.InetSocketAddress("127.0.0.1", port), 1000);
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  @Test
  void aStalledReaderSlowsOnlyItsOwnConnection() throws Exception {
    Q2qClient bob = net.client(server, "bob@localhost");
    Q2qClient alice = net.client(server, "alice@localhost");
    Exposer.start(bob, "echo", echoTarget(), AllowList.parse(List.of(), bob.address()), 100, events)
        .ready().get(30, TimeUnit.SECONDS);
    try (Forwarder f = Forwarder.open(alice, new HostPort("127.0.0.1", 0),
        ServiceAddress.parse("bob@localhost/echo"), 100, events);
        Socket stalled = new Socket("127.0.0.1", f.localAddress().getPort())) {
      // writes 64 MiB and never reads its echo: every buffer on its path fills up
      CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
        try {
          stalled.getOutputStream().write(new byte[64 << 20]);
        } catch (IOException e) {
          // closed at the end of the test
        }
      });
      Thread.sleep(500); // let the stalled connection fill its buffers
      byte[] data = TestNet.bytes(4 << 20, 9);
      assertEchoed(f.localAddress().getPort(), data);
      assertThat(writer).isNotDone();
    }
  }

  @Test
  void atTheConnectionLimitNewConnectionsWaitUntilOneCloses() throws Exception {
    Q2qClient bob = net.client(server, "bob@localhost");
    Q2qClient alice = net.client(server, "alice@localhost");
    Exposer.start(bob, "echo", echoTarget(), AllowList.parse(List.of(), bob.address()), 100, events)
        .ready().get(30, TimeUnit.SECONDS);
    List<Integer> limits = new CopyOnWriteArrayList<>();
    try (Forwarder f = Forwarder.open(alice, new HostPort("127.0.0.1", 0),
        ServiceAddress.parse("bob@localhost/echo"), 1, new TunnelEvents() {
          @Override
          public void limitReached(int limit, boolean waiting) {
            limits.add(limit);
          }
        })) {
      Socket first = new Socket("127.0.0.1", f.localAddress().getPort());
      first.getOutputStream().write(1);
      assertThat(first.getInputStream().read()).isEqualTo(1);
      assertThat(limits).containsExactly(1);
      try (Socket second = new Socket("127.0.0.1", f.localAddress().getPort())) {
        second.setSoTimeout(1000);
        second.getOutputStream().write(2);
        assertThatThrownBy(() -> second.getInputStream().read()).isInstanceOf(java.net.SocketTimeoutException.class);
        first.close();
        second.setSoTimeout(20_000);
        assertThat(second.getInputStream().read()).isEqualTo(2);
      }
    }
  }

  private static byte[] readAll(Socket s) {
    try {
      InputStream in = s.getInputStream();
      return in.readAllBytes();
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }



}
