package org.q2q.client;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.util.concurrent.EventExecutor;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.q2q.certstore.Address;
import org.q2q.server.LoopbackServer;

/** A peer that dies or freezes fails the other side's channels within the heartbeat timeout. */
@Timeout(90)
class PeerLossTest {
  private static final Address BOB = Address.parse("bob@localhost");

  @TempDir Path dir;

  @Test
  void aFrozenPeerIsDetectedByHeartbeats() throws Exception {
    EventLoopGroup bobLoops = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
    CountDownLatch thaw = new CountDownLatch(1);
    try (TestNet net = new TestNet(dir)) {
      LoopbackServer server = net.server("localhost");
      Q2qClient bob = net.track(net.builder(server, "bob@localhost").eventLoopGroup(bobLoops)
          .peerHeartbeat(Duration.ofMillis(200), Duration.ofSeconds(1)).build());
      bob.listen("echo", TestNet::echo).ready().get(10, TimeUnit.SECONDS);
      // Alice decides idleness by her injected clock, so the test does not bound a wall-clock delay.
      org.q2q.server.MutableClock clock = new org.q2q.server.MutableClock();
      Q2qClient alice = net.track(net.builder(server, "alice@localhost").clock(clock)
          .peerHeartbeat(Duration.ofMillis(200), Duration.ofSeconds(30)).build());
      VirtualChannel ch = alice.connect(BOB, "echo").get(20, TimeUnit.SECONDS);
      ch.outputStream().write(1);
      assertThat(ch.inputStream().read()).isEqualTo(1);

      // bob freezes: his transport stays up, but he sends nothing any more
      for (EventExecutor e : bobLoops) {
        e.execute(() -> {
          try {
            thaw.await();
          } catch (InterruptedException ignored) {
            Thread.currentThread().interrupt();
          }
        });
      }
      Thread.sleep(300); // whatever bob had sent has arrived
      assertThat(ch.closeFuture().isDone()).as("not idle while the clock stands still").isFalse();
      clock.advance(Duration.ofSeconds(31));
      ch.closeFuture().await(10, TimeUnit.SECONDS); // the next heartbeat tick, 200 ms
      thaw.countDown(); // bob may run again (and close cleanly with the fixture)
      assertThat(ch.closeFuture().isDone()).isTrue();
      assertThat(ch.closeFuture().cause()).isInstanceOfSatisfying(ChannelResetException.class, e -> {
        assertThat(e.code()).isEqualTo(Q2qErrorCode.SESSION_LOST);
        assertThat(e).hasMessageContaining("idle timeout 30000 ms");
      });
      TestNet.await(() -> alice.peerSessionCount() == 0, Duration.ofSeconds(5), "eviction");
    } finally {
      thaw.countDown();
      bobLoops.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }
  }

  @Test
  void aKilledPeerFailsTheChannelsAtOnce() throws Exception {
    try (TestNet net = new TestNet(dir)) {
      LoopbackServer server = net.server("localhost");
      Q2qClient bob = net.track(net.builder(server, "bob@localhost").build());
      bob.listen("echo", TestNet::echo).ready().get(10, TimeUnit.SECONDS);
      Q2qClient alice = net.client(server, "alice@localhost");
      VirtualChannel ch = alice.connect(BOB, "echo").get(20, TimeUnit.SECONDS);
      bob.close(); // its sessions, relay streams and server connection go away
      ch.closeFuture().await(10, TimeUnit.SECONDS);
      assertThat(ch.closeFuture().cause()).isInstanceOf(ChannelResetException.class);
    }
  }
}
