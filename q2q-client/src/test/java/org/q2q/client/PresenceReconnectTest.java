package org.q2q.client;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.q2q.certstore.Address;
import org.q2q.server.LoopbackServer;

/** The presence session survives a server restart: listeners come back by themselves. */
@Timeout(90)
class PresenceReconnectTest {
  private static final Address BOB = Address.parse("bob@localhost");

  @TempDir Path dir;

  static String roundTrip(VirtualChannel ch, String text) throws Exception {
    OutputStream out = ch.outputStream();
    out.write(text.getBytes(StandardCharsets.UTF_8));
    out.close();
    InputStream in = ch.inputStream();
    return new String(in.readAllBytes(), StandardCharsets.UTF_8);
  }

  @Test
  void afterAServerRestartListenersReRegisterAndNewConnectsSucceed() throws Exception {
    int port;
    try (ServerSocket probe = new ServerSocket(0)) {
      port = probe.getLocalPort();
    }
    try (TestNet net = new TestNet(dir).relayOnly()) { // a relayed session ends with the server
      LoopbackServer server = net.server("localhost", c -> c, b -> b.port(port));
      Q2qClient bob = net.client(server, "bob@localhost");
      List<PresenceState> states = new CopyOnWriteArrayList<>();
      bob.addPresenceListener((state, detail) -> states.add(state));
      assertThat(bob.presenceState()).isEqualTo(PresenceState.IDLE);
      bob.listen("echo", TestNet::echo).ready().get(10, TimeUnit.SECONDS);
      assertThat(bob.presenceState()).isEqualTo(PresenceState.ONLINE);

      Q2qClient alice = net.client(server, "alice@localhost");
      VirtualChannel before = alice.connect(BOB, "echo").get(20, TimeUnit.SECONDS);
      assertThat(roundTrip(before, "before")).isEqualTo("before");

      server.restart();
      TestNet.await(() -> states.contains(PresenceState.RECONNECTING), Duration.ofSeconds(20), "bob to notice");
      TestNet.await(() -> bob.presenceState() == PresenceState.ONLINE, Duration.ofSeconds(20), "bob to come back");
      TestNet.await(() -> alice.peerSessionCount() == 0, Duration.ofSeconds(20), "the old relayed session to end");

      VirtualChannel after = alice.connect(BOB, "echo").get(20, TimeUnit.SECONDS);
      assertThat(roundTrip(after, "after")).isEqualTo("after");
      assertThat(states).containsSubsequence(PresenceState.CONNECTING, PresenceState.ONLINE,
          PresenceState.RECONNECTING, PresenceState.ONLINE);

      bob.close();
      assertThat(bob.presenceState()).isEqualTo(PresenceState.CLOSED);
    }
  }

  @Test
  void aListenerStartedWhileTheServerIsDownRegistersOnceItIsUp() throws Exception {
    int port;
    try (ServerSocket probe = new ServerSocket(0)) {
      port = probe.getLocalPort();
    }
    try (TestNet net = new TestNet(dir)) {
      LoopbackServer server = net.server("localhost", c -> c, b -> b.port(port));
      Q2qClient bob = net.client(server, "bob@localhost");
      server.server().close(); // down before bob ever connects
      var ready = bob.listen("echo", TestNet::echo).ready();
      TestNet.await(() -> bob.presenceState() == PresenceState.RECONNECTING, Duration.ofSeconds(20), "retries");
      assertThat(ready).isNotDone(); // no "ready" before the server confirms

      server.restart();
      ready.get(20, TimeUnit.SECONDS);
      Q2qClient alice = net.client(server, "alice@localhost");
      assertThat(roundTrip(alice.connect(BOB, "echo").get(20, TimeUnit.SECONDS), "hi")).isEqualTo("hi");
    }
  }
}
