package org.q2q.client.internal.peer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import com.google.protobuf.ByteString;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.q2q.client.ChannelResetException;
import org.q2q.client.PeerSessionException;
import org.q2q.client.Q2qErrorCode;
import org.q2q.client.VirtualChannel;
import org.q2q.proto.ChannelData;
import org.q2q.proto.ChannelReset;
import org.q2q.proto.Hello;
import org.q2q.proto.PeerFrame;

/**
 * A scripted raw peer (real TLS, hand-written frames) against a real acceptor session: protocol
 * violations get clear, narrowly scoped answers and never crash or leak.
 */
@Timeout(30)
class ScriptedPeerTest {
  private static final int HIGH = 64 * 1024;
  private static final int ALLOWANCE = 64 * 1024;

  private final Loopback net = new Loopback();
  private final TestServices services = new TestServices();

  @AfterEach
  void tearDown() {
    services.close();
    net.close();
  }

  private void listen() throws Exception {
    net.listen(PeerSessionConfig.builder(TestPki.BOB, TestPki.TRUST_BOTH, PeerRole.ACCEPTOR)
        .acceptor(services)
        .receiveWaterMarks(16 * 1024, HIGH)
        .overrunAllowance(ALLOWANCE)
        .build(), null);
  }

  private PeerSession acceptorSession() throws Exception {
    return net.acceptorStart.get(10, TimeUnit.SECONDS).get(10, TimeUnit.SECONDS);
  }

  private static PeerFrame data(long id, int size) {
    return PeerFrame.newBuilder()
        .setData(ChannelData.newBuilder().setChannelId((int) id).setPayload(ByteString.copyFrom(new byte[size])))
        .build();
  }

  private static ChannelReset expectReset(RawPeer peer) throws InterruptedException {
    return peer.next(PeerFrame.KindCase.RESET).getReset();
  }

  @Test
  void aPeerIgnoringChokeIsResetWithFlowControlErrorOnThatChannelOnly() throws Exception {
    listen();
    try (RawPeer peer = RawPeer.connect(net, TestPki.ALICE, true)) {
      peer.send(Frames.open(1, "sink", 1 << 20));
      assertThat(peer.next().getAccept().getChannelId()).isEqualTo(1);
      peer.send(Frames.open(3, "sink", 1 << 20));
      assertThat(peer.next().getAccept().getChannelId()).isEqualTo(3);

      // 16 KiB frames way past high mark + allowance + one frame, ignoring the choke.
      for (int i = 0; i < 16; i++) {
        peer.send(data(1, 16 * 1024));
      }
      PeerFrame choke = peer.next();
      assertThat(choke.hasChoke()).as("choke first, got %s", choke).isTrue();
      assertThat(choke.getChoke().getChannelId()).isEqualTo(1);
      ChannelReset reset = expectReset(peer);
      assertThat(reset.getChannelId()).isEqualTo(1);
      assertThat(Frames.code(reset)).isEqualTo(Q2qErrorCode.FLOW_CONTROL_ERROR);
      assertThat(reset.getReason()).contains("more than the choke allows");

      // The session and the other channel live on.
      peer.assertAlive(11);
      peer.send(data(3, 100));
      peer.assertAlive(12);
      VirtualChannel one = services.accepted.get(0);
      Throwable t = catchThrowable(() -> one.closeFuture().get(10, TimeUnit.SECONDS));
      ChannelResetException r = (ChannelResetException) t.getCause();
      assertThat(r.code()).isEqualTo(Q2qErrorCode.FLOW_CONTROL_ERROR);
      assertThat(r.byPeer()).isFalse();
      assertThat(services.accepted.get(1).channel().isOpen()).isTrue();
      assertThat(acceptorSession().isOpen()).isTrue();
    }
  }

  @Test
  void dataForAnUnknownChannelIsAnsweredWithAResetForThatId() throws Exception {
    listen();
    try (RawPeer peer = RawPeer.connect(net, TestPki.ALICE, true)) {
      peer.send(data(99, 10));
      ChannelReset reset = expectReset(peer);
      assertThat(reset.getChannelId()).isEqualTo(99);
      assertThat(Frames.code(reset)).isEqualTo(Q2qErrorCode.PROTOCOL_ERROR);
      assertThat(reset.getReason()).isEqualTo("data for unknown channel 99");
      peer.send(Frames.choke(41));
      assertThat(expectReset(peer).getReason()).isEqualTo("choke for unknown channel 41");
      peer.send(Frames.reset(43, Q2qErrorCode.CANCEL, "")); // a reset is never answered
      peer.assertAlive(1);
      assertThat(acceptorSession().isOpen()).isTrue();
    }
  }

  @Test
  void openWithTheWrongParityOrAReusedIdIsRefusedAsProtocolError() throws Exception {
    listen();
    try (RawPeer peer = RawPeer.connect(net, TestPki.ALICE, true)) {
      peer.send(Frames.open(2, "sink", 0));
      ChannelReset wrong = expectReset(peer);
      assertThat(wrong.getChannelId()).isEqualTo(2);
      assertThat(Frames.code(wrong)).isEqualTo(Q2qErrorCode.PROTOCOL_ERROR);
      assertThat(wrong.getReason()).contains("wrong parity");

      peer.send(Frames.open(5, "sink", 0));
      assertThat(peer.next().getAccept().getChannelId()).isEqualTo(5);
      peer.send(Frames.open(3, "sink", 0)); // lower than one already used
      ChannelReset reused = expectReset(peer);
      assertThat(reused.getChannelId()).isEqualTo(3);
      assertThat(reused.getReason()).contains("reuses an id");
      peer.send(Frames.open(5, "sink", 0)); // the live one: it is reset too, both sides agree
      assertThat(expectReset(peer).getChannelId()).isEqualTo(5);
      Throwable t = catchThrowable(() -> services.accepted.get(0).closeFuture().get(10, TimeUnit.SECONDS));
      assertThat(((ChannelResetException) t.getCause()).code()).isEqualTo(Q2qErrorCode.PROTOCOL_ERROR);

      peer.send(Frames.open(7, "sink", 0));
      assertThat(peer.next().getAccept().getChannelId()).isEqualTo(7);
      peer.assertAlive(2);
    }
  }

  @Test
  void malformedProtobufEndsTheSessionWithAReasonOnChannelZero() throws Exception {
    listen();
    try (RawPeer peer = RawPeer.connect(net, TestPki.ALICE, true)) {
      peer.send(Frames.open(1, "sink", 0));
      peer.next();
      peer.sendRaw(Unpooled.wrappedBuffer(new byte[] {3, (byte) 0xff, (byte) 0xff, (byte) 0xff}));

      ChannelReset reset = expectReset(peer);
      assertThat(reset.getChannelId()).isZero();
      assertThat(Frames.code(reset)).isEqualTo(Q2qErrorCode.PROTOCOL_ERROR);
      assertThat(reset.getReason()).startsWith("malformed frame (3 bytes)");
      assertThat(peer.awaitClosed()).isTrue();
      Throwable t = catchThrowable(() -> services.accepted.get(0).closeFuture().get(10, TimeUnit.SECONDS));
      ChannelResetException r = (ChannelResetException) t.getCause();
      assertThat(r.code()).isEqualTo(Q2qErrorCode.SESSION_LOST);
      assertThat(r).hasMessageContaining("PROTOCOL_ERROR").hasMessageContaining("malformed frame");
    }
  }

  @Test
  void anOversizeLengthPrefixEndsTheSessionWithFrameTooLarge() throws Exception {
    listen();
    try (RawPeer peer = RawPeer.connect(net, TestPki.ALICE, true)) {
      ByteBuf prefix = Unpooled.buffer();
      PeerFrameEncoder.writeVarint(prefix, 2L << 20);
      prefix.writeZero(100); // the body never comes; the prefix alone is enough to refuse
      peer.sendRaw(prefix);

      ChannelReset reset = expectReset(peer);
      assertThat(reset.getChannelId()).isZero();
      assertThat(Frames.code(reset)).isEqualTo(Q2qErrorCode.FRAME_TOO_LARGE);
      assertThat(reset.getReason()).isEqualTo("frame of 2097152 bytes exceeds the limit of 1048576 bytes");
      assertThat(peer.awaitClosed()).isTrue();
      Throwable t = catchThrowable(() -> acceptorSession().closeFuture().get(10, TimeUnit.SECONDS));
      assertThat(t).cause().isInstanceOf(PeerSessionException.class).hasMessageContaining("FRAME_TOO_LARGE");
    }
  }

  @Test
  void aFirstFrameOtherThanHelloFailsTheSessionStart() throws Exception {
    listen();
    try (RawPeer peer = RawPeer.connect(net, TestPki.ALICE, false)) {
      peer.send(Frames.open(1, "sink", 0));
      Future<PeerSession> start = net.acceptorStart.get(10, TimeUnit.SECONDS);
      Throwable t = catchThrowable(() -> start.get(10, TimeUnit.SECONDS));
      assertThat(t).cause().isInstanceOf(PeerSessionException.class)
          .hasMessageContaining("expected Hello as the peer's first frame, got OPEN");
      assertThat(((PeerSessionException) t.getCause()).code()).isEqualTo(Q2qErrorCode.PROTOCOL_ERROR);
      assertThat(peer.awaitClosed()).isTrue();
    }
  }

  @Test
  void aHelloOfAnotherVersionFailsTheSessionStart() throws Exception {
    listen();
    try (RawPeer peer = RawPeer.connect(net, TestPki.ALICE, false)) {
      peer.send(PeerFrame.newBuilder().setHello(Hello.newBuilder().setVersion(2)).build());
      Throwable t = catchThrowable(() -> net.acceptorStart.get(10, TimeUnit.SECONDS).get(10, TimeUnit.SECONDS));
      assertThat(t).cause().hasMessageContaining("the peer speaks peer protocol version 2, this side 1");
      assertThat(peer.awaitClosed()).isTrue();
    }
  }

  @Test
  void aSecondHelloEndsTheSession() throws Exception {
    listen();
    try (RawPeer peer = RawPeer.connect(net, TestPki.ALICE, true)) {
      peer.send(Frames.hello("again"));
      ChannelReset reset = expectReset(peer);
      assertThat(reset.getChannelId()).isZero();
      assertThat(reset.getReason()).isEqualTo("a second Hello in an established session");
      assertThat(peer.awaitClosed()).isTrue();
    }
  }

  @Test
  void dataAfterTheEndOfAChannelIsAProtocolError() throws Exception {
    listen();
    try (RawPeer peer = RawPeer.connect(net, TestPki.ALICE, true)) {
      peer.send(Frames.open(1, "sink", 0));
      peer.next();
      peer.send(Frames.end(1));
      peer.send(data(1, 10));
      ChannelReset reset = expectReset(peer);
      assertThat(reset.getChannelId()).isEqualTo(1);
      assertThat(reset.getReason()).isEqualTo("data after the end of channel 1");
      peer.assertAlive(3);
    }
  }
}
