package org.q2q.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.q2q.certstore.Address;
import org.q2q.server.LoopbackServer;

/**
 * PTCP as a connection method on loopback: STUN toward the server's UDP port, BindUdp, hole
 * punching from both sides, then the peer session over PTCP, with a real presence server.
 */
@Timeout(90)
class PtcpConnectTest {
  private static final Address BOB = Address.parse("bob@localhost");

  @TempDir Path dir;
  private TestNet net;
  private LoopbackServer server;

  @BeforeEach
  void start() throws Exception {
    net = new TestNet(dir);
    server = net.server("localhost");
  }

  @AfterEach
  void stop() {
    net.close();
  }

  @Test
  void forcedPtcpPunchesOnLoopbackAndCarriesTheBytesIntact() throws Exception {
    Q2qClient bob = net.track(net.builder(server, "bob@localhost").build());
    bob.listen("echo", TestNet::echo).ready().get(10, TimeUnit.SECONDS);
    List<String> steps = Collections.synchronizedList(new ArrayList<>());
    Q2qClient alice = net.track(net.builder(server, "alice@localhost").connectionListener(new ConnectionListener() {
      @Override
      public void attemptProgress(Address to, Route route, String step) {
        steps.add(step);
      }
    }).build());

    VirtualChannel ch = alice.connect(BOB, "echo", Transport.PTCP).get(20, TimeUnit.SECONDS);
    assertThat(ch.route().kind()).isEqualTo(Route.Kind.PTCP);
    assertThat(ch.route().via()).endsWith(":" + bob.udpPort());
    assertThat(steps).anyMatch(s -> s.startsWith("candidates ")).anyMatch(s -> s.startsWith("punch round 1"))
        .anyMatch(s -> s.startsWith("punched "));
    DirectConnectTest.echoIntact(ch, 4 << 20);
  }

  @Test
  void whenTcpCannotConnectPtcpWinsBeforeTheRelayStarts() throws Exception {
    int closed;
    try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
      closed = s.getLocalPort();
    }
    Q2qClient bob = net.track(net.builder(server, "bob@localhost")
        .advertiseTcp(List.of(new java.net.InetSocketAddress("127.0.0.1", closed))).build());
    bob.listen("echo", TestNet::echo).ready().get(10, TimeUnit.SECONDS);
    List<String> started = Collections.synchronizedList(new ArrayList<>());
    Q2qClient alice = net.track(net.builder(server, "alice@localhost").directTcp(false) // no reverse TCP
        .softTimeout(java.time.Duration.ofSeconds(1)) // PTCP at 1 s, the relay at 2 s
        .connectionListener(new ConnectionListener() {
          @Override
          public void attemptStart(Address to, Route route) {
            started.add(route.kind().name());
          }
        }).build());

    VirtualChannel ch = alice.connect(BOB, "echo").get(20, TimeUnit.SECONDS);
    assertThat(ch.route().kind()).isEqualTo(Route.Kind.PTCP);
    assertThat(started).containsExactly("TCP", "PTCP"); // the relay never had to start
    DirectConnectTest.echoIntact(ch, 1 << 20);
  }

  @Test
  void autoStillPrefersDirectTcpOnOneHost() throws Exception {
    Q2qClient bob = net.track(net.builder(server, "bob@localhost").build());
    bob.listen("echo", TestNet::echo).ready().get(10, TimeUnit.SECONDS);
    Q2qClient alice = net.client(server, "alice@localhost");
    VirtualChannel ch = alice.connect(BOB, "echo").get(20, TimeUnit.SECONDS);
    assertThat(ch.route().kind()).isEqualTo(Route.Kind.TCP);
  }

  @Test
  void aListenerWithoutUdpCannotBeReachedByForcedPtcpAndSaysWhy() throws Exception {
    Q2qClient bob = net.track(net.builder(server, "bob@localhost").ptcp(false).build());
    bob.listen("echo", TestNet::echo).ready().get(10, TimeUnit.SECONDS);
    Q2qClient alice = net.client(server, "alice@localhost");
    assertThatThrownBy(() -> alice.connect(BOB, "echo", Transport.PTCP).get(20, TimeUnit.SECONDS))
        .hasCauseInstanceOf(ConnectFailedException.class)
        .hasMessageContaining("not used with transport ptcp");
  }
}
