package org.q2q.client.internal.peer;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.InputStream;
import java.io.OutputStream;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.q2q.client.VirtualChannel;

/** Choke/unchoke between real sessions: a stalled reader is bounded and never slows the others. */
@Timeout(60)
class FlowControlTest {
  private static final int LOW = 64 * 1024;
  private static final int HIGH = 256 * 1024;
  private static final int ALLOWANCE = 512 * 1024;

  private final Loopback net = new Loopback();
  private final TestServices services = new TestServices();

  @AfterEach
  void tearDown() {
    services.close();
    net.close();
    assertThat(services.errors).isEmpty();
  }

  @Test
  void aStalledReaderIsChokedAndBoundedWhileAnotherChannelMoves32MiB() throws Exception {
    net.listen(PeerSessionConfig.builder(TestPki.BOB, TestPki.TRUST_BOTH, PeerRole.ACCEPTOR)
        .acceptor(services).receiveWaterMarks(LOW, HIGH).overrunAllowance(ALLOWANCE).build(), null);
    Loopback.Pair p = net.pair(PeerSessionConfig.builder(TestPki.ALICE, TestPki.TRUST_BOTH, PeerRole.INITIATOR)
        .expectedPeer(TestPki.BOB.address()).receiveWaterMarks(LOW, HIGH).overrunAllowance(ALLOWANCE).build());
    VirtualChannel stalled = p.initiator().openChannel("sink").get(10, TimeUnit.SECONDS);
    VirtualChannel fast = p.initiator().openChannel("sha").get(10, TimeUnit.SECONDS);
    int stalledSize = 16 << 20;
    CompletableFuture<Void> stalledWriter = CompletableFuture.runAsync(() -> {
      try {
        stalled.outputStream().write(new byte[stalledSize]);
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    }, services.pool);
    VirtualChildChannel stalledHere = (VirtualChildChannel) stalled.channel();
    awaitTrue(stalledHere::isChokedByPeer);

    String sent;
    try (OutputStream out = fast.outputStream()) {
      sent = TestServices.writeRandom(out, 32, 32 << 20);
    }
    assertThat(TestServices.readAll(fast.inputStream())).isEqualTo(sent);

    VirtualChildChannel stalledThere = (VirtualChildChannel) services.accepted.get(0).channel();
    long buffered = stalledThere.eventLoop().submit(stalledThere::unconsumedBytes).get();
    assertThat(stalledThere.chokesSent()).isGreaterThanOrEqualTo(1);
    assertThat(buffered).isBetween((long) HIGH, (long) HIGH + ALLOWANCE + PeerSessionConfig.MAX_CHUNK_SIZE);
    assertThat(stalledHere.isChokedByPeer()).isTrue();
    assertThat(stalledHere.unsafe().outboundBuffer().getUserDefinedWritability(VirtualChildChannel.CHOKE_WRITABILITY_BIT))
        .as("a choked channel is not writable for Netty code").isFalse();
    assertThat(stalled.channel().isWritable()).isFalse();
    assertThat(stalledWriter).as("the blocking writer of the choked channel waits").isNotDone();

    // The reader wakes up: draining below the low mark unchokes, and everything arrives.
    InputStream in = services.accepted.get(0).inputStream();
    byte[] all = in.readNBytes(stalledSize);
    assertThat(all).hasSize(stalledSize);
    stalledWriter.get(20, TimeUnit.SECONDS);
    awaitTrue(() -> !stalledHere.isChokedByPeer());
    assertThat(stalled.channel().isWritable()).isTrue();
  }

  @Test
  void bytesCountAsConsumedWhenDeliveredToThePipeline() throws Exception {
    net.listen(PeerSessionConfig.builder(TestPki.BOB, TestPki.TRUST_BOTH, PeerRole.ACCEPTOR)
        .acceptor(services).receiveWaterMarks(LOW, HIGH).overrunAllowance(ALLOWANCE).build(), null);
    Loopback.Pair p = net.pair(PeerSessionConfig.builder(TestPki.ALICE, TestPki.TRUST_BOTH, PeerRole.INITIATOR)
        .expectedPeer(TestPki.BOB.address()).build());
    VirtualChannel ch = p.initiator().openChannel("sink").get(10, TimeUnit.SECONDS);
    ch.outputStream().write(new byte[100_000]);
    VirtualChildChannel there = (VirtualChildChannel) services.accepted.get(0).channel();
    awaitTrue(() -> onLoop(there) == 100_000);
    // Not read yet (autoRead is off): unconsumed. One read() delivers it and frees the budget.
    InputStream in = services.accepted.get(0).inputStream();
    assertThat(in.readNBytes(100_000)).hasSize(100_000);
    assertThat(onLoop(there)).isZero();
  }

  @Test
  void aWriterAPeerNeverLetsMoveFailsAfterTheWriteStallTimeoutAndResetsTheChannel() throws Exception {
    VirtualChannelTest.MutableClock clock = new VirtualChannelTest.MutableClock();
    net.listen(PeerSessionConfig.builder(TestPki.BOB, TestPki.TRUST_BOTH, PeerRole.ACCEPTOR)
        .acceptor(services).receiveWaterMarks(LOW, HIGH).overrunAllowance(ALLOWANCE).build(), null);
    Loopback.Pair p = net.pair(PeerSessionConfig.builder(TestPki.ALICE, TestPki.TRUST_BOTH, PeerRole.INITIATOR)
        .expectedPeer(TestPki.BOB.address()).clock(clock).writeStallTimeout(java.time.Duration.ofSeconds(60)).build());
    VirtualChannel stalled = p.initiator().openChannel("sink").get(10, TimeUnit.SECONDS);
    CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
      try {
        stalled.outputStream().write(new byte[16 << 20]);
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    }, services.pool);
    VirtualChildChannel here = (VirtualChildChannel) stalled.channel();
    awaitTrue(here::isChokedByPeer);
    Thread.sleep(300);
    assertThat(writer).as("the writer waits while the clock stands still").isNotDone();

    // By the session's clock nothing moved for a minute; advance again if bytes still trickled.
    for (int i = 0; i < 20 && !writer.isDone(); i++) {
      clock.advance(java.time.Duration.ofSeconds(61));
      Thread.sleep(300);
    }
    Throwable t = org.assertj.core.api.Assertions.catchThrowable(() -> writer.get(10, TimeUnit.SECONDS));
    assertThat(t).hasRootCauseInstanceOf(java.io.IOException.class)
        .rootCause().hasMessageContaining("write stall timeout 60000 ms");
    Throwable there = org.assertj.core.api.Assertions.catchThrowable(
        () -> services.accepted.get(0).closeFuture().get(10, TimeUnit.SECONDS));
    assertThat(there.getCause()).isInstanceOf(org.q2q.client.ChannelResetException.class);
    assertThat(((org.q2q.client.ChannelResetException) there.getCause()).code())
        .isEqualTo(org.q2q.client.Q2qErrorCode.CANCEL);
    assertThat(p.initiator().isOpen()).as("only the channel ends").isTrue();
  }

  private static long onLoop(VirtualChildChannel ch) {
    try {
      return ch.eventLoop().submit(ch::unconsumedBytes).get();
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  /** Polls {@code condition} until true, failing after 10 s. */
  static void awaitTrue(java.util.function.BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (!condition.getAsBoolean()) {
      assertThat(System.nanoTime()).as("condition within 10 s").isLessThan(deadline);
      Thread.sleep(5); // not a spin: the event loops it waits for share two cores
    }
  }
}
