package org.q2q.client;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.q2q.certstore.Address;
import org.q2q.server.LoopbackServer;

/** A listener whose handler throws resets the channel, telling the peer that it failed and nothing of how. */
@Timeout(60)
class ListenerFailureTest {
  private static final Address BOB = Address.parse("bob@localhost");

  @TempDir Path dir;

  @Test
  void aHandlerThatThrowsResetsTheChannelWithoutItsClassOrMessage() throws Exception {
    try (TestNet net = new TestNet(dir)) {
      LoopbackServer server = net.server("localhost");
      Q2qClient bob = net.client(server, "bob@localhost");
      bob.listen("fragile", ch -> {
        throw new IllegalStateException("secret detail of bob's code");
      }).ready().get(10, TimeUnit.SECONDS);
      Q2qClient alice = net.client(server, "alice@localhost");

      VirtualChannel ch = alice.connect(BOB, "fragile").get(20, TimeUnit.SECONDS);

      ch.closeFuture().await(10, TimeUnit.SECONDS);
      assertThat(ch.closeFuture().cause()).isInstanceOfSatisfying(ChannelResetException.class, e -> {
        assertThat(e.byPeer()).isTrue();
        assertThat(e.reason()).isEqualTo("the listener failed");
        assertThat(e.getMessage()).doesNotContain("IllegalStateException").doesNotContain("secret");
      });
    }
  }
}
