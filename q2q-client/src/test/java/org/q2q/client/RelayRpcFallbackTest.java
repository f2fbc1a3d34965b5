package org.q2q.client;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.q2q.certstore.Address;
import org.q2q.server.LoopbackServer;

/** A server without a relay socket: clients relay through the Relay RPC, as before the socket existed. */
@Timeout(120)
class RelayRpcFallbackTest {
  @TempDir Path dir;
  private TestNet net;

  @AfterEach
  void stop() {
    net.close();
  }

  @Test
  void withoutARelaySocketBothSidesRelayThroughGrpc() throws Exception {
    net = new TestNet(dir).relayOnly();
    AtomicLong tapped = new AtomicLong();
    LoopbackServer server = net.server("localhost", c -> c.withRelayTap((id, sender, data) -> tapped.addAndGet(data.size())),
        b -> b.relaySocketPort(-1));
    assertThat(server.server().relaySocketPort()).isZero();
    Q2qClient bob = net.client(server, "bob@localhost");
    bob.listen("echo", TestNet::echo).ready().get(10, TimeUnit.SECONDS);
    Q2qClient alice = net.client(server, "alice@localhost");

    VirtualChannel ch = alice.connect(Address.parse("bob@localhost"), "echo").get(20, TimeUnit.SECONDS);
    assertThat(ch.route().kind()).isEqualTo(Route.Kind.RELAY);
    int size = 4 << 20;
    TestNet.assertEchoedIntact(ch, size, 7, 65_537);
    // both directions crossed the Relay RPC's frames (plus the peer session's TLS overhead)
    assertThat(tapped.get()).isGreaterThan(2L * size);
    ch.close();
  }
}
