package org.q2q.client.internal.peer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.DuplexChannel;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.q2q.client.ChannelResetException;
import org.q2q.client.Q2qErrorCode;
import org.q2q.client.VirtualChannel;

/** Virtual channels over a real TLS peer session on loopback TCP. */
@Timeout(60)
class VirtualChannelTest {
  private final Loopback net = new Loopback();
  private final TestServices services = new TestServices();

  @AfterEach
  void tearDown() {
    services.close();
    net.close();
    assertThat(services.errors).isEmpty();
  }

  private Loopback.Pair pair() throws Exception {
    return pair(b -> {});
  }

  private Loopback.Pair pair(java.util.function.Consumer<PeerSessionConfig.Builder> tune) throws Exception {
    PeerSessionConfig.Builder acc = PeerSessionConfig.builder(TestPki.BOB, TestPki.TRUST_BOTH, PeerRole.ACCEPTOR).acceptor(services);
    PeerSessionConfig.Builder init = PeerSessionConfig.builder(TestPki.ALICE, TestPki.TRUST_BOTH, PeerRole.INITIATOR)
        .expectedPeer(TestPki.BOB.address());
    tune.accept(acc);
    tune.accept(init);
    net.listen(acc.build(), null);
    return net.pair(init.build());
  }

  private static VirtualChannel open(PeerSession s, String service) throws Exception {
    return s.openChannel(service).get(10, TimeUnit.SECONDS);
  }

  private static List<VirtualChannel> open(PeerSession s, String service, int n) throws Exception {
    List<VirtualChannel> chs = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      chs.add(open(s, service));
    }
    return chs;
  }

  @Test
  void openingAServiceTheListenerDoesNotOfferIsResetWithNoSuchService() throws Exception {
    Loopback.Pair p = pair();
    Throwable t = catchThrowable(() -> p.initiator().openChannel("nope").get(10, TimeUnit.SECONDS));

    assertThat(t).isInstanceOf(ExecutionException.class).cause().isInstanceOf(ChannelResetException.class);
    ChannelResetException r = (ChannelResetException) t.getCause();
    assertThat(r.code()).isEqualTo(Q2qErrorCode.NO_SUCH_SERVICE);
    assertThat(r.byPeer()).isTrue();
    assertThat(r).hasMessageContaining("no service 'nope' at bob@a.test");
    assertThat(p.initiator().isOpen()).isTrue();
  }

  @Test
  void aListenerThatThrowsRefusesWithoutLeakingItsMessage() throws Exception {
    Loopback.Pair p = pair();
    Throwable t = catchThrowable(() -> p.initiator().openChannel("broken").get(10, TimeUnit.SECONDS));

    ChannelResetException r = (ChannelResetException) t.getCause();
    assertThat(r.code()).isEqualTo(Q2qErrorCode.REFUSED);
    assertThat(r.getMessage()).doesNotContain("exploded");
  }

  @Test
  void echoThroughANettyHandlerWithBlockingStreams() throws Exception {
    Loopback.Pair p = pair();
    VirtualChannel ch = open(p.initiator(), "echo");
    assertThat(ch.id()).isOdd();
    assertThat(ch.remoteAddress()).isEqualTo(TestPki.BOB.address());
    assertThat(ch.localAddress()).isEqualTo(TestPki.ALICE.address());
    assertThat(ch.route().kind()).isEqualTo(org.q2q.client.Route.Kind.TCP);

    OutputStream out = ch.outputStream();
    out.write("hello, bob".getBytes(StandardCharsets.UTF_8));
    byte[] back = ch.inputStream().readNBytes(10);
    assertThat(new String(back, StandardCharsets.UTF_8)).isEqualTo("hello, bob");

    out.close(); // half-close: the echo ends its side when our end arrives
    assertThat(ch.inputStream().read()).isEqualTo(-1);
    ch.closeFuture().get(10, TimeUnit.SECONDS);
    assertThat(ch.closeFuture().isSuccess()).isTrue();
  }

  @ParameterizedTest
  @ValueSource(ints = {0, 1, 1 << 20, 64 << 20})
  void bulkTransferArrivesIntact(int size) throws Exception {
    Loopback.Pair p = pair();
    VirtualChannel ch = open(p.initiator(), "sha");
    String sent;
    try (OutputStream out = ch.outputStream()) {
      sent = TestServices.writeRandom(out, size, size);
    }
    assertThat(TestServices.readAll(ch.inputStream())).isEqualTo(sent);
  }

  @Test
  void hundredChannelsAtOnceOverOneSession() throws Exception {
    Loopback.Pair p = pair();
    List<Future<?>> results = new ArrayList<>();
    for (int i = 0; i < 100; i++) {
      int n = i;
      results.add(services.pool.submit(() -> {
        VirtualChannel ch = open(p.initiator(), "sha");
        String sent;
        try (OutputStream out = ch.outputStream()) {
          sent = TestServices.writeRandom(out, n, 20_000 + n * 1_001L);
        }
        assertThat(TestServices.readAll(ch.inputStream())).isEqualTo(sent);
        return null;
      }));
    }
    for (Future<?> f : results) {
      f.get(50, TimeUnit.SECONDS);
    }
    assertThat(services.accepted).hasSize(100);
    assertThat(services.accepted).extracting(VirtualChannel::id).doesNotHaveDuplicates().allMatch(id -> id % 2 == 1);
  }

  /**
   * Many channels writing in one event-loop turn (forwarded connections, each with a small request)
   * reach the transport as one flush, so one TLS record and one write, not one each; and every
   * channel's bytes still arrive.
   */
  @Test
  void channelsWritingInOneLoopTurnShareOneTransportFlush() throws Exception {
    Loopback.Pair p = pair();
    List<VirtualChannel> chs = open(p.initiator(), "echo", 20);
    io.netty.channel.Channel transport = p.initiator().transportChannel();
    java.util.concurrent.atomic.AtomicInteger flushes = new java.util.concurrent.atomic.AtomicInteger();
    CompletableFuture<Void> written = new CompletableFuture<>();
    transport.eventLoop().execute(() -> {
      transport.pipeline().addFirst("count-flushes", new io.netty.channel.ChannelOutboundHandlerAdapter() {
        @Override
        public void flush(ChannelHandlerContext ctx) {
          flushes.incrementAndGet();
          ctx.flush();
        }
      });
      for (int i = 0; i < chs.size(); i++) {
        chs.get(i).channel().writeAndFlush(Unpooled.copiedBuffer("request " + i, StandardCharsets.UTF_8));
      }
      // a task queued now runs after the flush the writes requested
      transport.eventLoop().execute(() -> written.complete(null));
    });
    written.get(10, TimeUnit.SECONDS);
    for (int i = 0; i < chs.size(); i++) {
      String expected = "request " + i;
      byte[] back = chs.get(i).inputStream().readNBytes(expected.length());
      assertThat(new String(back, StandardCharsets.UTF_8)).isEqualTo(expected);
    }
    // the SslHandler's own flush of the records counts too, hence at most 2 (it was 20 and more)
    assertThat(flushes.get()).isBetween(1, 2);
  }

  /**
   * A peer that answers, ends its channel and closes its whole session at once (a receiver's last
   * "stored and verified" before it exits): the answer, already received but not yet read, is
   * still read in full, then the end of stream; it is not dropped in favour of SESSION_LOST.
   */
  @Test
  void theLastWordsBeforeThePeerClosesItsSessionAreStillRead() throws Exception {
    Loopback.Pair p = pair();
    VirtualChannel ch = open(p.initiator(), "sha");
    ch.outputStream().write("hello".getBytes(StandardCharsets.UTF_8));
    ch.shutdownOutput().get(10, TimeUnit.SECONDS);
    // the sha service answered and ended; its channel finished once our end arrived
    services.accepted.get(0).closeFuture().get(10, TimeUnit.SECONDS);
    p.acceptor().close().get(10, TimeUnit.SECONDS);
    p.initiator().closeFuture().await(10, TimeUnit.SECONDS);
    assertThat(p.initiator().isOpen()).isFalse();

    // read only now: the answer waited in the channel while the session ended
    String expected;
    try (InputStream in = new java.io.ByteArrayInputStream("hello".getBytes(StandardCharsets.UTF_8))) {
      expected = TestServices.sha256Hex(in);
    }
    assertThat(TestServices.readAll(ch.inputStream())).isEqualTo(expected);
    ch.closeFuture().get(10, TimeUnit.SECONDS);
    assertThat(ch.closeFuture().isSuccess()).isTrue();
  }

  /**
   * The peer ends its output and closes its session before this side ended its own: what it sent
   * is still read in full, then the end of stream; only this side's output fails.
   */
  @Test
  void aPeerThatEndsAndLeavesFirstIsStillReadInFullWhileOurOutputFails() throws Exception {
    Loopback.Pair p = pair();
    VirtualChannel ch = open(p.initiator(), "sink");
    VirtualChannel theirs = services.accepted.get(0); // may not be active yet: the stream waits for it
    String sent;
    try (OutputStream out = theirs.outputStream()) {
      sent = TestServices.writeRandom(out, 11, 100_000); // within the receive budget: nobody reads yet
    }
    p.acceptor().close().get(10, TimeUnit.SECONDS);
    p.initiator().closeFuture().await(10, TimeUnit.SECONDS);
    assertThat(p.initiator().isOpen()).isFalse();

    assertThat(TestServices.sha256Hex(ch.inputStream())).isEqualTo(sent);
    Throwable writeFailure = catchThrowable(() -> ch.outputStream().write(new byte[] {1}));
    assertThat(writeFailure).isInstanceOf(IOException.class).hasMessageContaining("SESSION_LOST");
    ch.closeFuture().await(10, TimeUnit.SECONDS);
    assertThat(ch.closeFuture().isDone()).isTrue();
  }

  @Test
  void theAcceptorOpensEvenChannelsBackToTheInitiator() throws Exception {
    TestServices initiatorServices = new TestServices();
    try {
      PeerSessionConfig acc = PeerSessionConfig.builder(TestPki.BOB, TestPki.TRUST_BOTH, PeerRole.ACCEPTOR).build();
      net.listen(acc, null);
      Loopback.Pair p = net.pair(PeerSessionConfig.builder(TestPki.ALICE, TestPki.TRUST_BOTH, PeerRole.INITIATOR)
          .expectedPeer(TestPki.BOB.address()).acceptor(initiatorServices).build());
      VirtualChannel ch = open(p.acceptor(), "sha");
      assertThat(ch.id()).isEven();
      String sent;
      try (OutputStream out = ch.outputStream()) {
        sent = TestServices.writeRandom(out, 7, 300_000);
      }
      assertThat(TestServices.readAll(ch.inputStream())).isEqualTo(sent);
    } finally {
      initiatorServices.close();
    }
  }

  @Test
  void halfCloseKeepsTheOtherDirectionOpenBothWays() throws Exception {
    Loopback.Pair p = pair();
    // Opener ends first: the service reads to the end, then answers.
    VirtualChannel first = open(p.initiator(), "sha");
    first.outputStream().write("abc".getBytes(StandardCharsets.US_ASCII));
    first.shutdownOutput().get(10, TimeUnit.SECONDS);
    assertThat(first.channel().isOpen()).isTrue();
    assertThat(TestServices.readAll(first.inputStream()))
        .isEqualTo("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    first.closeFuture().get(10, TimeUnit.SECONDS);
    assertThat(first.closeFuture().isSuccess()).isTrue();

    // And the other way: the echo ends its side only after ours, which we end after reading.
    VirtualChannel second = open(p.initiator(), "echo");
    second.outputStream().write("ping".getBytes(StandardCharsets.US_ASCII));
    assertThat(new String(second.inputStream().readNBytes(4), StandardCharsets.US_ASCII)).isEqualTo("ping");
    second.outputStream().close();
    assertThat(second.inputStream().read()).isEqualTo(-1);
    second.closeFuture().get(10, TimeUnit.SECONDS);
    assertThat(second.closeFuture().isSuccess()).isTrue();
  }

  @Test
  void peerEndingFirstLeavesOurOutputOpen() throws Exception {
    TestServices initiatorServices = new TestServices();
    CompletableFuture<String> receivedAfterEnd = new CompletableFuture<>();
    ChannelAcceptor greeter = ch -> {
      // Netty side: greet, end our output at once, then collect what the opener still sends.
      ch.channel().pipeline().addLast(new SayThenCollect("hi", receivedAfterEnd));
      return true;
    };
    try {
      net.listen(PeerSessionConfig.builder(TestPki.BOB, TestPki.TRUST_BOTH, PeerRole.ACCEPTOR).acceptor(greeter).build(), null);
      Loopback.Pair p = net.pair(PeerSessionConfig.builder(TestPki.ALICE, TestPki.TRUST_BOTH, PeerRole.INITIATOR)
          .expectedPeer(TestPki.BOB.address()).build());
      VirtualChannel ch = open(p.initiator(), "greeting");
      assertThat(TestServices.readAll(ch.inputStream())).isEqualTo("hi");
      assertThat(((DuplexChannel) ch.channel()).isInputShutdown()).isTrue();
      try (OutputStream out = ch.outputStream()) {
        out.write("still talking".getBytes(StandardCharsets.US_ASCII));
      }
      assertThat(receivedAfterEnd.get(10, TimeUnit.SECONDS)).isEqualTo("still talking");
      ch.closeFuture().get(10, TimeUnit.SECONDS);
      assertThat(ch.closeFuture().isSuccess()).isTrue();
      assertThat(ch.channel().isOpen()).isFalse();
    } finally {
      initiatorServices.close();
    }
  }

  @Test
  void closingAChannelLeavesTheSessionAndOtherChannelsWorking() throws Exception {
    Loopback.Pair p = pair();
    VirtualChannel keep = open(p.initiator(), "echo");
    VirtualChannel drop = open(p.initiator(), "echo");
    drop.close();
    drop.closeFuture().get(10, TimeUnit.SECONDS);

    keep.outputStream().write(new byte[] {1, 2, 3});
    assertThat(keep.inputStream().readNBytes(3)).containsExactly(1, 2, 3);
    VirtualChannel again = open(p.initiator(), "echo");
    again.outputStream().write(new byte[] {4});
    assertThat(again.inputStream().read()).isEqualTo(4);
    assertThat(p.initiator().isOpen()).isTrue();
    assertThat(p.acceptor().isOpen()).isTrue();
    // The acceptor saw the close as a CANCEL reset of that channel only.
    VirtualChannel droppedThere = services.accepted.get(1);
    Throwable t = catchThrowable(() -> droppedThere.closeFuture().get(10, TimeUnit.SECONDS));
    assertThat(((ChannelResetException) t.getCause()).code()).isEqualTo(Q2qErrorCode.CANCEL);
  }

  @Test
  void resetReachesThePeerWithCodeAndReason() throws Exception {
    Loopback.Pair p = pair();
    VirtualChannel ch = open(p.initiator(), "sink");
    ch.outputStream().write(new byte[1000]);
    ch.reset("changed my mind");
    ch.closeFuture().get(10, TimeUnit.SECONDS);
    assertThat(ch.closeFuture().isSuccess()).isTrue();
    assertThatThrownBy(() -> ch.outputStream().write(1)).isInstanceOf(java.io.IOException.class);

    VirtualChannel there = services.accepted.get(0);
    Throwable t = catchThrowable(() -> there.closeFuture().get(10, TimeUnit.SECONDS));
    ChannelResetException r = (ChannelResetException) t.getCause();
    assertThat(r.code()).isEqualTo(Q2qErrorCode.CANCEL);
    assertThat(r.reason()).isEqualTo("changed my mind");
    Throwable read = catchThrowable(() -> there.inputStream().read());
    assertThat(read).isInstanceOf(ChannelResetException.class).hasMessageContaining("CANCEL: changed my mind");
  }

  @Test
  void losingTheTransportFailsEveryOpenChannelWithSessionLost() throws Exception {
    Loopback.Pair p = pair();
    List<VirtualChannel> mine = open(p.initiator(), "sink", 3);
    net.acceptedSocket.get().close(); // kill the acceptor's TCP socket without any goodbye

    for (VirtualChannel ch : mine) {
      Throwable t = catchThrowable(() -> ch.closeFuture().get(10, TimeUnit.SECONDS));
      assertThat(((ChannelResetException) t.getCause()).code()).isEqualTo(Q2qErrorCode.SESSION_LOST);
      Throwable read = catchThrowable(() -> ch.inputStream().read());
      assertThat(read).isInstanceOf(ChannelResetException.class).hasMessageContaining("SESSION_LOST");
    }
    for (VirtualChannel ch : services.accepted) {
      Throwable t = catchThrowable(() -> ch.closeFuture().get(10, TimeUnit.SECONDS));
      assertThat(((ChannelResetException) t.getCause()).code()).isEqualTo(Q2qErrorCode.SESSION_LOST);
    }
    p.initiator().closeFuture().await(10, TimeUnit.SECONDS);
    assertThat(p.initiator().isOpen()).isFalse();
    Throwable open = catchThrowable(() -> p.initiator().openChannel("echo").get(10, TimeUnit.SECONDS));
    assertThat(open).cause().hasMessageContaining("closed");
  }

  @Test
  void closingTheSessionFailsChannelsOnBothSides() throws Exception {
    Loopback.Pair p = pair();
    VirtualChannel ch = open(p.initiator(), "sink");
    p.acceptor().close().get(10, TimeUnit.SECONDS);

    Throwable t = catchThrowable(() -> ch.closeFuture().get(10, TimeUnit.SECONDS));
    ChannelResetException r = (ChannelResetException) t.getCause();
    assertThat(r.code()).isEqualTo(Q2qErrorCode.SESSION_LOST);
    assertThat(r).hasMessageContaining("the peer closed the session");
    Throwable s = catchThrowable(() -> p.initiator().closeFuture().get(10, TimeUnit.SECONDS));
    assertThat(s).cause().hasMessageContaining("the peer closed the session");
  }

  @Test
  void bytesWrittenJustBeforeALocalCloseReachThePeerBeforeTheClose() throws Exception {
    Loopback.Pair p = pair();
    VirtualChannel ch = open(p.initiator(), "discard");
    // one event-loop task: the write schedules the data, the close follows at once (what a
    // receiver does after its last "stored and verified")
    ch.channel().eventLoop().submit(() -> {
      ch.channel().writeAndFlush(io.netty.buffer.Unpooled.wrappedBuffer(new byte[1000]));
      p.initiator().close();
    }).get(10, TimeUnit.SECONDS);

    catchThrowable(() -> p.acceptor().closeFuture().get(10, TimeUnit.SECONDS));
    assertThat(services.discarded.get()).isEqualTo(1000);
  }

  @Test
  void bytesWrittenJustBeforeAChannelCloseReachThePeerBeforeItsReset() throws Exception {
    Loopback.Pair p = pair();
    VirtualChannel ch = open(p.initiator(), "discard");
    ch.channel().eventLoop().submit(() -> { // one event-loop task: write, then close at once
      ch.channel().writeAndFlush(io.netty.buffer.Unpooled.wrappedBuffer(new byte[1000]));
      ch.channel().close();
    }).get(10, TimeUnit.SECONDS);

    long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (services.discarded.get() < 1000 && System.nanoTime() < until) {
      Thread.sleep(10);
    }
    assertThat(services.discarded.get()).isEqualTo(1000);
  }

  @Test
  void nettyHandlerOnTheOpenerTalksToBlockingStreamsOnTheAcceptor() throws Exception {
    Loopback.Pair p = pair();
    CompletableFuture<String> answer = new CompletableFuture<>();
    VirtualChannel ch = p.initiator().openChannel("sha", new SayThenCollect("abc", answer)).get(10, TimeUnit.SECONDS);

    assertThat(answer.get(10, TimeUnit.SECONDS)).isEqualTo("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    ch.closeFuture().get(10, TimeUnit.SECONDS);
  }

  @Test
  void heartbeatFailsChannelsWhenThePeerGoesSilent() throws Exception {
    Swallower swallow = new Swallower();
    PeerSessionConfig acc = PeerSessionConfig.builder(TestPki.BOB, TestPki.TRUST_BOTH, PeerRole.ACCEPTOR)
        .acceptor(services)
        .heartbeat(Duration.ofMillis(200), Duration.ofMillis(3000))
        .build();
    net.listen(acc, ch -> ch.pipeline().addFirst(swallow));
    Loopback.Pair p = net.pair(PeerSessionConfig.builder(TestPki.ALICE, TestPki.TRUST_BOTH, PeerRole.INITIATOR)
        .expectedPeer(TestPki.BOB.address())
        .heartbeat(Duration.ofMillis(200), Duration.ofMillis(3000))
        .build());
    VirtualChannel ch = open(p.initiator(), "sink");
    assertThat(services.accepted).hasSize(1);
    // Pings flow: nothing is idle after ten heartbeat intervals. (How long detection takes is
    // decided by the clock, see theIdleDecisionUsesTheInjectedClock; here no wall-clock bound.)
    assertThat(services.accepted.get(0).closeFuture().await(2000, TimeUnit.MILLISECONDS)).isFalse();

    swallow.swallowing = true; // from now on the acceptor hears nothing
    Throwable t = catchThrowable(() -> services.accepted.get(0).closeFuture().get(15, TimeUnit.SECONDS));
    ChannelResetException r = (ChannelResetException) t.getCause();
    assertThat(r.code()).isEqualTo(Q2qErrorCode.SESSION_LOST);
    assertThat(r).hasMessageContaining("idle timeout 3000 ms");
    // The acceptor closed the transport, so the initiator's channel fails as well.
    Throwable mine = catchThrowable(() -> ch.closeFuture().get(10, TimeUnit.SECONDS));
    assertThat(((ChannelResetException) mine.getCause()).code()).isEqualTo(Q2qErrorCode.SESSION_LOST);
  }

  @Test
  void theIdleDecisionUsesTheInjectedClock() throws Exception {
    MutableClock clock = new MutableClock();
    PeerSessionConfig acc = PeerSessionConfig.builder(TestPki.BOB, TestPki.TRUST_BOTH, PeerRole.ACCEPTOR)
        .acceptor(services).clock(clock).heartbeat(Duration.ofMillis(100), Duration.ofHours(1)).build();
    net.listen(acc, null);
    Loopback.Pair p = net.pair(PeerSessionConfig.builder(TestPki.ALICE, TestPki.TRUST_BOTH, PeerRole.INITIATOR)
        .expectedPeer(TestPki.BOB.address()).build());
    open(p.initiator(), "sink");
    clock.advance(Duration.ofHours(2)); // the peer is alive, but by this clock it has been silent
    Throwable t = catchThrowable(() -> services.accepted.get(0).closeFuture().get(10, TimeUnit.SECONDS));
    assertThat(t.getCause()).hasMessageContaining("idle timeout 3600000 ms");
  }

  /** A clock the test moves by hand; certificates stay valid because it starts at the real now. */
  static final class MutableClock extends java.time.Clock {
    private volatile java.time.Instant now = java.time.Instant.now();

    void advance(Duration d) {
      now = now.plus(d);
    }

    @Override
    public java.time.ZoneId getZone() {
      return java.time.ZoneOffset.UTC;
    }

    @Override
    public java.time.Clock withZone(java.time.ZoneId zone) {
      return this;
    }

    @Override
    public java.time.Instant instant() {
      return now;
    }
  }

  /** A transport fault: once switched on, every inbound byte is dropped. */
  @io.netty.channel.ChannelHandler.Sharable
  static final class Swallower extends ChannelInboundHandlerAdapter {
    volatile boolean swallowing;

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (swallowing) {
        io.netty.util.ReferenceCountUtil.release(msg);
      } else {
        ctx.fireChannelRead(msg);
      }
    }
  }

  @Test
  void aSmallExchangeOvertakesAn8MiBWriteOnAnotherChannel() throws Exception {
    Loopback.Pair p = pair();
    VirtualChannel bulk = open(p.initiator(), "discard");
    VirtualChannel echo = open(p.initiator(), "echo");
    // Both writes are queued in one event-loop task, so the scheduler sees them together; the 4 MiB
    // send window keeps most of the bulk waiting for acknowledgements that this task cannot read.
    // Round-robin then sends the echo byte within one turn, far ahead of the bulk's end; FIFO would
    // send it after the 8 MiB. The receiver's own order is the oracle, not timing.
    io.netty.channel.ChannelFuture bulkWrite = bulk.channel().eventLoop().submit(() -> {
      io.netty.channel.ChannelFuture f = bulk.channel().writeAndFlush(Unpooled.wrappedBuffer(new byte[8 << 20]));
      echo.channel().writeAndFlush(Unpooled.wrappedBuffer(new byte[] {42}));
      return f;
    }).get(10, TimeUnit.SECONDS);
    assertThat(echo.inputStream().read()).isEqualTo(42);
    bulkWrite.get(30, TimeUnit.SECONDS);
    FlowControlTest.awaitTrue(() -> services.discarded.get() == 8 << 20);
    assertThat(services.discardedAtFirstEcho.get())
        .as("bulk bytes the receiver had before the echo byte").isBetween(0L, 5L << 20);
  }

  @Test
  void aFailingHandlerResetsItsChannelWithInternalErrorAndNoDetails() throws Exception {
    Loopback.Pair p = pair();
    VirtualChannel ch = open(p.initiator(), "explode");
    ch.outputStream().write(1);
    Throwable t = catchThrowable(() -> ch.closeFuture().get(10, TimeUnit.SECONDS));
    ChannelResetException r = (ChannelResetException) t.getCause();
    assertThat(r.code()).isEqualTo(Q2qErrorCode.INTERNAL_ERROR);
    assertThat(r.reason()).isEqualTo("the application handling the channel failed");
    assertThat(p.initiator().isOpen()).isTrue();
  }

  @Test
  void writesOfZeroBytesAndEmptyBuffersAreHarmless() throws Exception {
    Loopback.Pair p = pair();
    VirtualChannel ch = open(p.initiator(), "sha");
    ch.outputStream().write(new byte[0]);
    ch.channel().writeAndFlush(Unpooled.EMPTY_BUFFER).get(10, TimeUnit.SECONDS);
    ch.outputStream().close();
    assertThat(TestServices.readAll(ch.inputStream()))
        .isEqualTo("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  }

  @Test
  void inputStreamReadsUnblockWithEofAndStreamsRejectTheEventLoop() throws Exception {
    Loopback.Pair p = pair();
    VirtualChannel ch = open(p.initiator(), "echo");
    InputStream in = ch.inputStream();
    Throwable onLoop = catchThrowable(() -> ch.channel().eventLoop().submit(() -> in.read()).get());
    assertThat(onLoop).cause().isInstanceOf(IllegalStateException.class).hasMessageContaining("event loop");
    ch.outputStream().close();
    assertThat(in.read()).isEqualTo(-1);
  }

  /** Netty side: on activation write {@code text} and end our output; complete with what arrives until the peer ends. */
  private static final class SayThenCollect extends ChannelInboundHandlerAdapter {
    private final String text;
    private final CompletableFuture<String> received;
    private final StringBuilder got = new StringBuilder();

    SayThenCollect(String text, CompletableFuture<String> received) {
      this.text = text;
      this.received = received;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
      ctx.writeAndFlush(Unpooled.copiedBuffer(text, StandardCharsets.US_ASCII));
      ((DuplexChannel) ctx.channel()).shutdownOutput();
      ctx.channel().config().setAutoRead(true);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      ByteBuf b = (ByteBuf) msg;
      got.append(b.toString(StandardCharsets.US_ASCII));
      b.release();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
      if (evt instanceof ChannelInputShutdownEvent) {
        received.complete(got.toString());
      }
    }
  }
}
