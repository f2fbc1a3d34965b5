package org.q2q.client.internal.peer;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import com.google.protobuf.ByteString;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.util.ReferenceCountUtil;
import java.io.ByteArrayOutputStream;
import java.util.concurrent.TimeUnit;
import org.q2q.client.Q2qErrorCode;
import org.q2q.client.VirtualChannel;
import org.q2q.proto.ChannelChoke;
import org.q2q.proto.ChannelData;
import org.q2q.proto.ChannelEnd;
import org.q2q.proto.ChannelOpen;
import org.q2q.proto.ChannelUnchoke;
import org.q2q.proto.PeerFrame;

/**
 * Coverage-guided fuzz test of the peer frame decoder and the multiplexer together, the code that
 * reads everything an authenticated peer sends after TLS (Jazzer; regression inputs under {@code
 * PeerFrameFuzzTestInputs/}, replayed in the normal test run).
 *
 * <p>The input becomes a byte stream of well-formed frames of every kind (with small channel ids,
 * so opens, data, ends and resets meet live channels) mixed with raw bytes, fed in pieces to an
 * acceptor-side session on an {@link EmbeddedChannel}. Properties: no exception escapes the
 * pipeline, the peer never has more channels open than the cap, the session's buffered memory
 * stays within its budget plus one piece, and every buffer is released (paranoid leak detection,
 * NettyLeakGate in every test run).
 */
class PeerFrameFuzzTest {
  private static final int MAX_CHANNELS = 8;

  /** Accepts echo (a Netty handler), sink (never read) and discard; refuses the rest. */
  private static boolean accept(VirtualChannel ch) {
    switch (ch.service()) {
      case "echo" -> ch.channel().pipeline().addLast(new TestServices.EchoHandler());
      case "sink" -> { }
      case "discard" -> ch.channel().pipeline().addLast(new TestServices.Discard());
      default -> {
        return false;
      }
    }
    return true;
  }

  @FuzzTest(maxDuration = "10s")
  void frameDecoderAndMultiplexer(FuzzedDataProvider data) {
    EmbeddedChannel transport = new EmbeddedChannel();
    PeerSessionConfig cfg = PeerSessionConfig.builder(TestPki.BOB, TestPki.TRUST_BOTH, PeerRole.ACCEPTOR)
        .acceptor(PeerFrameFuzzTest::accept).maxRemoteChannels(MAX_CHANNELS).maxFrameSize(64 * 1024)
        .receiveWaterMarks(1024, 4096).overrunAllowance(8192).sessionReceiveBudget(1 << 20).build();
    PeerSession session = new PeerSession(transport, cfg, TestPki.ALICE.address(), "", "fuzz");
    Multiplexer mux = new Multiplexer(session, cfg, transport);
    session.attach(mux);
    transport.pipeline().addLast(new PeerFrameDecoder(cfg.maxFrameSize()), PeerFrameEncoder.INSTANCE, mux);
    try {
      while (data.remainingBytes() > 0 && transport.isOpen()) {
        byte[] piece = piece(data);
        transport.writeInbound(Unpooled.wrappedBuffer(piece));
        transport.checkException();
        if (data.consumeBoolean()) {
          transport.advanceTimeBy(16, TimeUnit.SECONDS); // a heartbeat tick
          transport.runScheduledPendingTasks();
        }
        transport.runPendingTasks();
        releaseOutbound(transport);
        assertThat(mux.remoteOpenChannelCount()).isBetween(0, MAX_CHANNELS);
        assertThat(mux.bufferedBytes()).isBetween(0L, cfg.sessionReceiveBudget() + 2L * piece.length + 8192);
      }
    } finally {
      transport.close();
      transport.runPendingTasks();
      releaseOutbound(transport);
      transport.finishAndReleaseAll();
    }
    assertThat(mux.isClosed()).isTrue();
  }

  private static void releaseOutbound(EmbeddedChannel ch) {
    Object o;
    while ((o = ch.readOutbound()) != null) {
      ReferenceCountUtil.release(o);
    }
  }

  /** The next piece of the stream: one to four frames, or raw bytes. */
  private static byte[] piece(FuzzedDataProvider data) {
    if (data.consumeInt(0, 9) == 0) {
      return data.consumeBytes(data.consumeInt(0, 300));
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    int frames = data.consumeInt(1, 4);
    for (int i = 0; i < frames && data.remainingBytes() > 0; i++) {
      byte[] f = frame(data).toByteArray();
      writeVarint(out, f.length);
      out.writeBytes(f);
    }
    return out.toByteArray();
  }

  private static PeerFrame frame(FuzzedDataProvider data) {
    int id = data.consumeInt(0, 40);
    return switch (data.consumeInt(0, 9)) {
      case 0 -> PeerFrame.newBuilder().setOpen(ChannelOpen.newBuilder().setChannelId(id)
          .setService(data.pickValue(new String[] {"echo", "sink", "discard", "nope", "", ".x", "a b"}))
          .setReceiveBudget(data.consumeInt())).build();
      case 1, 2 -> PeerFrame.newBuilder().setData(ChannelData.newBuilder().setChannelId(id)
          .setPayload(ByteString.copyFrom(data.consumeBytes(data.consumeInt(0, 2000))))).build();
      case 3 -> PeerFrame.newBuilder().setChoke(ChannelChoke.newBuilder().setChannelId(id)).build();
      case 4 -> PeerFrame.newBuilder().setUnchoke(ChannelUnchoke.newBuilder().setChannelId(id)).build();
      case 5 -> PeerFrame.newBuilder().setEnd(ChannelEnd.newBuilder().setChannelId(id)).build();
      case 6 -> Frames.reset(id, Q2qErrorCode.values()[data.consumeInt(0, Q2qErrorCode.values().length - 1)], "r");
      case 7 -> Frames.ping(data.consumeLong());
      case 8 -> Frames.pong(data.consumeLong());
      default -> Frames.accept(id, data.consumeInt());
    };
  }

  private static void writeVarint(ByteArrayOutputStream out, int v) {
    while ((v & ~0x7f) != 0) {
      out.write((v & 0x7f) | 0x80);
      v >>>= 7;
    }
    out.write(v);
  }
}
