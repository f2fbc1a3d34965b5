package org.q2q.client.internal.peer;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.google.protobuf.ByteString;
import io.netty.channel.Channel;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.q2q.client.AcceptPolicy;
import org.q2q.client.Q2qErrorCode;
import org.q2q.client.VirtualChannel;
import org.q2q.client.internal.presence.HandlerExecutor;
import org.q2q.client.internal.presence.LocalListeners;
import org.q2q.proto.ChannelChoke;
import org.q2q.proto.ChannelData;
import org.q2q.proto.ChannelOpen;
import org.q2q.proto.PeerFrame;
import org.slf4j.LoggerFactory;

/**
 * A hostile but authenticated peer against a listener, over real TLS on loopback (security review
 * H2, H3): each test floods one kind of frame, asserts a bound on what the victim holds, and that
 * a well-behaved peer (or channel) is still served.
 */
@Timeout(120)
class PeerAbuseTest {
  private final Loopback net = new Loopback();
  private final TestServices services = new TestServices();
  private final CountDownLatch release = new CountDownLatch(1);

  @AfterEach
  void tearDown() {
    release.countDown();
    services.close();
    net.close();
  }

  private PeerSessionConfig.Builder victim() {
    return PeerSessionConfig.builder(TestPki.BOB, TestPki.TRUST_BOTH, PeerRole.ACCEPTOR).acceptor(services);
  }

  /** The victim's session of the first connection. */
  private PeerSession victimSession() throws Exception {
    return net.acceptorStart.get(10, TimeUnit.SECONDS).get(10, TimeUnit.SECONDS);
  }

  private static <T> T onLoop(PeerSession s, Function<Multiplexer, T> f) throws Exception {
    Callable<T> c = () -> f.apply(s.multiplexer());
    return s.transportChannel().eventLoop().submit(c).get(10, TimeUnit.SECONDS);
  }

  private static void await(String what, BooleanSupplier cond) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (!cond.getAsBoolean()) {
      assertThat(System.nanoTime()).as(what).isLessThan(deadline);
      Thread.sleep(10);
    }
  }

  private static boolean get(Callable<Boolean> c) {
    try {
      return c.call();
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  /** Carol, a well-behaved peer, gets an echo from the victim. */
  private void aWellBehavedPeerIsServed() throws Exception {
    PeerSession carol = net.startInitiator(PeerSessionConfig.builder(TestPki.CAROL, TestPki.TRUST_BOTH, PeerRole.INITIATOR)
        .expectedPeer(TestPki.BOB.address()).build()).get(10, TimeUnit.SECONDS);
    VirtualChannel echo = carol.openChannel("echo").get(10, TimeUnit.SECONDS);
    try (OutputStream out = echo.outputStream()) {
      out.write("still served".getBytes(StandardCharsets.UTF_8));
    }
    assertThat(TestServices.readAll(echo.inputStream())).isEqualTo("still served");
    carol.close();
  }

  private static PeerFrame open(long id, String service) {
    return PeerFrame.newBuilder().setOpen(ChannelOpen.newBuilder().setChannelId((int) id).setService(service)).build();
  }

  private static PeerFrame data(long id, byte[] payload) {
    return PeerFrame.newBuilder()
        .setData(ChannelData.newBuilder().setChannelId((int) id).setPayload(ByteString.copyFrom(payload))).build();
  }

  private static int countResets(RawPeer peer, Q2qErrorCode code, int expected) throws InterruptedException {
    int n = 0;
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (n < expected && System.nanoTime() < deadline) {
      Object o = peer.received.poll(100, TimeUnit.MILLISECONDS);
      if (o instanceof PeerFrame f && f.hasReset() && Frames.code(f.getReset()) == code) {
        n++;
      }
    }
    return n;
  }

  /** Sends a ping and returns every frame received before its pong (the pong excluded). */
  private static java.util.List<PeerFrame> framesUntilPong(RawPeer peer, long nonce) throws InterruptedException {
    peer.send(Frames.ping(nonce));
    java.util.List<PeerFrame> frames = new java.util.ArrayList<>();
    for (; ; ) {
      Object o = peer.received.poll(30, TimeUnit.SECONDS);
      assertThat(o).as("pong " + nonce).isNotNull().isInstanceOf(PeerFrame.class);
      PeerFrame f = (PeerFrame) o;
      if (f.hasPong() && f.getPong().getNonce() == nonce) {
        return frames;
      }
      frames.add(f);
    }
  }

  @Test
  void aPeerOpening50000ChannelsGetsAtMost256AndTheRestRefused() throws Exception {
    net.listen(victim().build(), null);
    int opens = 50_000;
    try (RawPeer mallory = RawPeer.connect(net, TestPki.ALICE, true)) {
      mallory.flood(opens, i -> open(2L * i + 1, "sink"));
      int cap = PeerSessionConfig.DEFAULT_MAX_REMOTE_CHANNELS;
      assertThat(countResets(mallory, Q2qErrorCode.REFUSED, opens - cap)).isEqualTo(opens - cap);
      mallory.assertAlive(7);

      PeerSession s = victimSession();
      assertThat(onLoop(s, Multiplexer::remoteOpenChannelCount)).isEqualTo(cap);
      assertThat(s.openChannelCount()).isEqualTo(cap);
      assertThat(services.accepted).hasSize(cap);

      // Closing one makes room for exactly one more.
      services.accepted.get(0).reset("done");
      await("the closed channel is forgotten", () -> s.openChannelCount() == cap - 1);
      mallory.send(open(2L * opens + 1, "sink"));
      mallory.assertAlive(8);
      assertThat(s.openChannelCount()).isEqualTo(cap);
    }
    aWellBehavedPeerIsServed();
  }

  @Test
  void stalledHandlersHoldAtMostHalfTheHandlerThreadsAndOtherPeersAreServed() throws Exception {
    HandlerExecutor handlers = HandlerExecutor.withThreads("abuse-handler", HandlerExecutor.DEFAULT_THREADS);
    java.util.concurrent.atomic.AtomicInteger ran = new java.util.concurrent.atomic.AtomicInteger();
    try {
      LocalListeners listeners = new LocalListeners(handlers);
      listeners.add(new LocalListeners.Listening("stall", "", AcceptPolicy.anyone(), ch -> {
        ran.incrementAndGet();
        release.await();
      }));
      listeners.add(new LocalListeners.Listening("echo", "", AcceptPolicy.anyone(), ch -> {
        try (InputStream in = ch.inputStream(); OutputStream out = ch.outputStream()) {
          in.transferTo(out);
        }
      }));
      net.listen(victim().acceptor(listeners.acceptor()).build(), null);
      int opens = 200;
      int perPeer = HandlerExecutor.DEFAULT_THREADS / 2;
      try (RawPeer mallory = RawPeer.connect(net, TestPki.ALICE, true)) {
        mallory.flood(opens, i -> open(2L * i + 1, "stall"));
        mallory.assertAlive(1);
        await("the peer's handlers run or wait", () -> ran.get() == perPeer && handlers.waiting() == opens - perPeer);
        assertThat(handlers.largestPoolSize()).isEqualTo(perPeer);
        long threads = Thread.getAllStackTraces().keySet().stream()
            .filter(t -> t.getName().startsWith("abuse-handler")).count();
        assertThat(threads).isLessThanOrEqualTo(perPeer);

        aWellBehavedPeerIsServed();

        // Once the stalled handlers return, the waiting ones get their turn.
        release.countDown();
        await("every handler ran", () -> ran.get() == opens);
      }
    } finally {
      release.countDown();
      handlers.close();
    }
  }

  @Test
  void oneByteFramesToAStalledHandlerAreCoalescedNotKeptOneBufferEach() throws Exception {
    net.listen(victim().receiveWaterMarks(16 * 1024, 32 * 1024).overrunAllowance(64 * 1024).build(), null);
    int frames = 100_000; // below high + allowance + one frame: no FLOW_CONTROL_ERROR, just a stalled reader
    try (RawPeer mallory = RawPeer.connect(net, TestPki.ALICE, true)) {
      mallory.send(open(1, "sink"));
      assertThat(mallory.next(PeerFrame.KindCase.ACCEPT).getAccept().getChannelId()).isEqualTo(1);
      byte[] one = {42};
      mallory.flood(frames, i -> data(1, one));
      PeerSession s = victimSession();
      VirtualChildChannel sink = onLoop(s, m -> m.channel(1));
      await("every byte arrived", () -> get(() -> onLoop(s, m -> sink.unconsumedBytes() == frames)));
      mallory.assertAlive(1);

      long unconsumed = onLoop(s, m -> sink.unconsumedBytes());
      assertThat(unconsumed).isEqualTo(frames);
      int chunks = onLoop(s, m -> sink.queuedChunks());
      long memory = onLoop(s, Multiplexer::bufferedBytes);
      assertThat(chunks).as("queued buffers").isLessThanOrEqualTo(frames / VirtualChildChannel.COALESCE_CAPACITY + 2);
      assertThat(memory).as("memory held for 100,000 payload bytes").isLessThan(2L * frames);

      // The same peer's other channel still works.
      mallory.send(open(3, "echo"));
      assertThat(mallory.next(PeerFrame.KindCase.ACCEPT).getAccept().getChannelId()).isEqualTo(3);
      mallory.send(data(3, "hi".getBytes(StandardCharsets.UTF_8)));
      PeerFrame echoed = mallory.next(PeerFrame.KindCase.DATA);
      assertThat(echoed.getData().getChannelId()).isEqualTo(3);
      assertThat(echoed.getData().getPayload().toStringUtf8()).isEqualTo("hi");

      // Delivering the bytes returns the memory to the session.
      byte[] got = services.accepted.get(0).inputStream().readNBytes(frames);
      assertThat(got).hasSize(frames).containsOnly((byte) 42);
      await("delivered chunks leave the budget", () -> get(() -> onLoop(s, Multiplexer::bufferedBytes) == 0));
    }
  }

  @Test
  void theSessionStopsReadingPastItsReceiveBudgetAndResumesWhenTheApplicationReads() throws Exception {
    long budget = 1 << 20;
    net.listen(victim().sessionReceiveBudget(budget).build(), null);
    int channels = 8;
    int perChannel = 12 * 16 * 1024; // under each channel's 256 KiB high mark: only the session bound applies
    try (RawPeer mallory = RawPeer.connect(net, TestPki.ALICE, true)) {
      for (int c = 0; c < channels; c++) {
        mallory.send(open(2L * c + 1, "sink"));
        mallory.next(PeerFrame.KindCase.ACCEPT);
      }
      byte[] chunk = new byte[16 * 1024];
      CompletableFuture<Void> flood = CompletableFuture.runAsync(() ->
          mallory.flood(channels * perChannel / chunk.length, i -> data(2L * (i % channels) + 1, chunk)));
      PeerSession s = victimSession();
      await("reading pauses", () -> get(() -> onLoop(s, Multiplexer::readingPaused)));
      assertThat(onLoop(s, Multiplexer::bufferedBytes)).isBetween(budget, budget + 256 * 1024);
      assertThat(s.transportChannel().config().isAutoRead()).isFalse();

      // The application reads every channel at once (the sender interleaves them).
      java.util.List<CompletableFuture<Integer>> readers = services.accepted.stream()
          .map(ch -> CompletableFuture.supplyAsync(() -> {
            try {
              return ch.inputStream().readNBytes(perChannel).length;
            } catch (java.io.IOException e) {
              throw new java.io.UncheckedIOException(e);
            }
          }, services.pool)).toList();
      for (CompletableFuture<Integer> r : readers) {
        assertThat(r.get(30, TimeUnit.SECONDS)).isEqualTo(perChannel);
      }
      flood.get(30, TimeUnit.SECONDS);
      mallory.assertAlive(5);
      assertThat(onLoop(s, Multiplexer::readingPaused)).isFalse();
      assertThat(s.isOpen()).isTrue();
    }
  }

  @Test
  void aPeerFloodingPingsWithoutReadingGetsOnlyTheLatestPong() throws Exception {
    net.listen(victim().build(), ch -> ch.config().setSendBufferSize(16 * 1024));
    int pings = 300_000;
    try (RawPeer mallory = RawPeer.connect(net, TestPki.ALICE, true, 16 * 1024)) {
      mallory.reading(false);
      mallory.flood(pings, i -> Frames.ping(i + 1));
      PeerSession s = victimSession();
      await("every ping was read", () -> get(() -> onLoop(s, Multiplexer::pendingPong) == pings));
      Channel transport = s.transportChannel();
      long pending = transport.eventLoop().submit(() -> transport.unsafe().outboundBuffer().totalPendingWriteBytes())
          .get(10, TimeUnit.SECONDS);
      assertThat(pending).as("bytes queued for a peer that does not read").isLessThan(256 * 1024);

      mallory.reading(true);
      mallory.assertAlive(pings + 1); // the coalesced pong arrived first, then this one
      aWellBehavedPeerIsServed();
    }
  }

  @Test
  void framesForUnknownIdsGetRateLimitedResetsAndOneWarning() throws Exception {
    ListAppender<ILoggingEvent> logs = new ListAppender<>();
    logs.start();
    Logger muxLog = (Logger) LoggerFactory.getLogger(Multiplexer.class);
    muxLog.addAppender(logs);
    try {
      net.listen(victim().build(), null);
      int chokes = 100_000;
      try (RawPeer mallory = RawPeer.connect(net, TestPki.ALICE, true)) {
        long start = System.nanoTime();
        mallory.flood(chokes, i -> PeerFrame.newBuilder()
            .setChoke(ChannelChoke.newBuilder().setChannelId(1_000_001 + 2 * i)).build());
        java.util.List<PeerFrame> answers = framesUntilPong(mallory, 3);
        double seconds = (System.nanoTime() - start) / 1e9;
        long resets = answers.stream().filter(PeerFrame::hasReset).count();
        assertThat(resets).isLessThanOrEqualTo((long) (Multiplexer.UNKNOWN_ID_RESETS_PER_SECOND * (Math.ceil(seconds) + 1)));
        assertThat(resets).as("some are still answered").isGreaterThan(0);
        long warnings = logs.list.stream()
            .filter(e -> e.getLevel() == Level.WARN && e.getFormattedMessage().contains("unknown channel")).count();
        assertThat(warnings).isEqualTo(1);
      }
    } finally {
      muxLog.detachAppender(logs);
    }
  }

  @Test
  void aMegabyteServiceNameIsRefusedAndNeverEchoed() throws Exception {
    net.listen(victim().build(), null);
    try (RawPeer mallory = RawPeer.connect(net, TestPki.ALICE, true)) {
      mallory.send(open(1, "x".repeat(1_000_000)));
      PeerFrame reset = mallory.next(PeerFrame.KindCase.RESET);
      assertThat(reset.getReset().getChannelId()).isEqualTo(1);
      assertThat(Frames.code(reset.getReset())).isEqualTo(Q2qErrorCode.PROTOCOL_ERROR);
      assertThat(reset.getReset().getReason()).hasSizeLessThan(100).doesNotContain("xxxx");
      mallory.send(open(3, "y".repeat(65)));
      assertThat(Frames.code(mallory.next(PeerFrame.KindCase.RESET).getReset())).isEqualTo(Q2qErrorCode.PROTOCOL_ERROR);
      mallory.assertAlive(1);
      assertThat(services.accepted).isEmpty();
    }
  }

  @Test
  void aPeerThatSendsOpensButNeverReadsStopsBeingRead() throws Exception {
    net.listen(victim().build(), ch -> ch.config().setSendBufferSize(16 * 1024));
    int opens = 20_000;
    try (RawPeer mallory = RawPeer.connect(net, TestPki.ALICE, true, 16 * 1024)) {
      mallory.reading(false);
      CompletableFuture<Void> flood = CompletableFuture.runAsync(() -> mallory.flood(opens, i -> open(2L * i + 1, "nope")));
      PeerSession s = victimSession();
      await("the victim stops reading", () -> get(() -> onLoop(s, Multiplexer::readingPaused)));
      Channel transport = s.transportChannel();
      long pending = transport.eventLoop().submit(() -> transport.unsafe().outboundBuffer().totalPendingWriteBytes())
          .get(10, TimeUnit.SECONDS);
      // The high-water mark, 64 more replies, and the replies to the rest of the one read in progress.
      assertThat(pending).as("refusals queued for a peer that does not read").isLessThan(512 * 1024);

      mallory.reading(true);
      assertThat(countResets(mallory, Q2qErrorCode.NO_SUCH_SERVICE, opens)).isEqualTo(opens);
      flood.get(30, TimeUnit.SECONDS);
      mallory.assertAlive(2);
      assertThat(onLoop(s, Multiplexer::readingPaused)).isFalse();
    }
  }
}
