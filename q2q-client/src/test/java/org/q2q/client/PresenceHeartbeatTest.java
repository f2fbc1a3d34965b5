package org.q2q.client;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
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

/**
 * A server that goes silent without closing anything (a half-open TCP connection, a hung server)
 * is noticed by the presence heartbeats, and the client comes back once the path works again.
 */
@Timeout(90)
class PresenceHeartbeatTest {
  @TempDir Path dir;

  /** A TCP forwarder on loopback that can be frozen: it then stops moving bytes, closing nothing. */
  static final class FreezableProxy implements AutoCloseable {
    private final ServerSocket listener;
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();
    private volatile boolean frozen;
    private final Object gate = new Object();

    FreezableProxy(int targetPort) throws IOException {
      listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
      Thread t = new Thread(() -> {
        try {
          while (true) {
            Socket in = listener.accept();
            Socket out = new Socket(InetAddress.getLoopbackAddress(), targetPort);
            sockets.add(in);
            sockets.add(out);
            pump(in, out);
            pump(out, in);
          }
        } catch (IOException closed) {
          // the proxy was closed
        }
      }, "freezable-proxy");
      t.setDaemon(true);
      t.start();
    }

    private void pump(Socket from, Socket to) {
      Thread t = new Thread(() -> {
        byte[] buf = new byte[16 * 1024];
        try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
          for (int n; (n = in.read(buf)) >= 0; ) {
            synchronized (gate) {
              while (frozen) {
                gate.wait();
              }
            }
            out.write(buf, 0, n);
          }
        } catch (IOException | InterruptedException e) {
          // a side closed
        }
      }, "freezable-proxy-pump");
      t.setDaemon(true);
      t.start();
    }

    int port() {
      return listener.getLocalPort();
    }

    void freeze(boolean f) {
      synchronized (gate) {
        frozen = f;
        gate.notifyAll();
      }
    }

    @Override
    public void close() throws IOException {
      freeze(false);
      listener.close();
      for (Socket s : sockets) {
        s.close();
      }
    }
  }

  @Test
  void aSilentServerIsDetectedAndTheListenerComesBackWhenThePathRecovers() throws Exception {
    try (TestNet net = new TestNet(dir)) {
      LoopbackServer server = net.server("localhost");
      try (FreezableProxy proxy = new FreezableProxy(server.port())) {
        Q2qClient bob = net.track(net.builder(server, "bob@localhost")
            .server("127.0.0.1:" + proxy.port())
            .presenceHeartbeat(Duration.ofMillis(300), Duration.ofSeconds(2)).build());
        List<PresenceState> states = new CopyOnWriteArrayList<>();
        bob.addPresenceListener((state, detail) -> states.add(state));
        bob.listen("echo", TestNet::echo).ready().get(10, TimeUnit.SECONDS);
        assertThat(bob.presenceState()).isEqualTo(PresenceState.ONLINE);

        proxy.freeze(true);
        long frozenAt = System.nanoTime();
        TestNet.await(() -> bob.presenceState() == PresenceState.RECONNECTING, Duration.ofSeconds(10),
            "the silent server to be noticed");
        long noticedMillis = (System.nanoTime() - frozenAt) / 1_000_000;
        assertThat(noticedMillis).isLessThan(5_000); // heartbeat timeout 2 s plus one interval, with slack

        proxy.freeze(false);
        TestNet.await(() -> bob.presenceState() == PresenceState.ONLINE, Duration.ofSeconds(30), "bob to come back");
        Q2qClient alice = net.client(server, "alice@localhost");
        VirtualChannel ch = alice.connect(Address.parse("bob@localhost"), "echo").get(20, TimeUnit.SECONDS);
        assertThat(PresenceReconnectTest.roundTrip(ch, "still here")).isEqualTo("still here");
        assertThat(states).containsSubsequence(PresenceState.ONLINE, PresenceState.RECONNECTING, PresenceState.ONLINE);
      }
    }
  }
}
