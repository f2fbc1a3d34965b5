package org.q2q.client.internal.peer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedOutputStream;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.q2q.client.Q2qErrorCode;
import org.q2q.proto.ChannelData;
import org.q2q.proto.PeerFrame;

/** The frame codec on an EmbeddedChannel: wire compatibility with protobuf, limits, errors. */
class PeerFrameCodecTest {
  private final EmbeddedChannel ch = new EmbeddedChannel(new PeerFrameDecoder(1024), PeerFrameEncoder.INSTANCE);

  @AfterEach
  void tearDown() {
    ch.finishAndReleaseAll();
  }

  private static byte[] delimited(PeerFrame f) throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    f.writeDelimitedTo(out);
    return out.toByteArray();
  }

  private byte[] written() {
    ByteBuf all = Unpooled.buffer();
    ByteBuf b;
    while ((b = ch.readOutbound()) != null) {
      all.writeBytes(b);
      b.release();
    }
    byte[] bytes = ByteBufUtil.getBytes(all);
    all.release();
    return bytes;
  }

  @Test
  void dataFramesAreByteForByteWhatProtobufWouldWrite() throws Exception {
    ByteBuf payload = Unpooled.copiedBuffer("hello", StandardCharsets.US_ASCII);
    ch.writeOutbound(new OutboundData(300, payload));
    PeerFrame expected = PeerFrame.newBuilder()
        .setData(ChannelData.newBuilder().setChannelId(300).setPayload(ByteString.copyFromUtf8("hello")))
        .build();
    assertThat(written()).isEqualTo(delimited(expected));
    assertThat(payload.refCnt()).isZero();
  }

  @Test
  void controlFramesAreVarintDelimitedProtobuf() throws Exception {
    ch.writeOutbound(Frames.reset(7, Q2qErrorCode.CANCEL, "bye"));
    assertThat(written()).isEqualTo(delimited(Frames.reset(7, Q2qErrorCode.CANCEL, "bye")));
  }

  @Test
  void framesSplitAcrossReadsAreReassembledAndDataTakesTheFastPath() throws Exception {
    PeerFrame data = PeerFrame.newBuilder()
        .setData(ChannelData.newBuilder().setChannelId(5).setPayload(ByteString.copyFrom(new byte[200])))
        .build();
    byte[] bytes = concat(delimited(Frames.hello("x")), delimited(data), delimited(Frames.ping(9)));
    for (byte b : bytes) {
      ch.writeInbound(Unpooled.wrappedBuffer(new byte[] {b}));
    }
    assertThat(((PeerFrame) ch.readInbound()).getHello().getListenerId()).isEqualTo("x");
    InboundData d = ch.readInbound();
    assertThat(d.channelId()).isEqualTo(5);
    assertThat(d.payload().readableBytes()).isEqualTo(200);
    d.payload().release();
    assertThat(((PeerFrame) ch.readInbound()).getPing().getNonce()).isEqualTo(9);
    assertThat((Object) ch.readInbound()).isNull();
  }

  @Test
  void dataEncodedAnotherValidWayFallsBackToProtobuf() throws Exception {
    // payload (field 2) before channel_id (field 1): valid protobuf, not the canonical order.
    ByteArrayOutputStream inner = new ByteArrayOutputStream();
    CodedOutputStream c = CodedOutputStream.newInstance(inner);
    c.writeBytes(2, ByteString.copyFromUtf8("ab"));
    c.writeUInt32(1, 3);
    c.flush();
    ByteArrayOutputStream frame = new ByteArrayOutputStream();
    CodedOutputStream f = CodedOutputStream.newInstance(frame);
    f.writeByteArray(3, inner.toByteArray());
    f.flush();
    ByteBuf in = Unpooled.buffer();
    PeerFrameEncoder.writeVarint(in, frame.size());
    in.writeBytes(frame.toByteArray());
    ch.writeInbound(in);
    PeerFrame got = ch.readInbound();
    assertThat(got.getData().getChannelId()).isEqualTo(3);
    assertThat(got.getData().getPayload().toStringUtf8()).isEqualTo("ab");
  }

  @Test
  void anOversizeLengthIsRefusedAndTheRestDiscarded() {
    ByteBuf in = Unpooled.buffer();
    PeerFrameEncoder.writeVarint(in, 1025);
    in.writeZero(2000);
    Throwable t = catchThrowable(() -> ch.writeInbound(in));
    assertThat(t).isInstanceOf(FrameException.class).hasMessage("frame of 1025 bytes exceeds the limit of 1024 bytes");
    assertThat(((FrameException) t).code()).isEqualTo(Q2qErrorCode.FRAME_TOO_LARGE);
    ch.writeInbound(Unpooled.wrappedBuffer(new byte[] {2, 0x42, 0}));
    assertThat((Object) ch.readInbound()).isNull();
  }

  @Test
  void aLengthVarintLongerThanFiveBytesIsMalformed() {
    Throwable t = catchThrowable(() -> ch.writeInbound(Unpooled.wrappedBuffer(new byte[] {-1, -1, -1, -1, -1, 1})));
    assertThat(t).isInstanceOf(FrameException.class).hasMessageContaining("malformed frame length prefix");
    assertThat(((FrameException) t).code()).isEqualTo(Q2qErrorCode.PROTOCOL_ERROR);
  }

  @Test
  void badProtobufIsAProtocolErrorAndTheStreamStaysInSync() throws Exception {
    Throwable t = catchThrowable(() -> ch.writeInbound(Unpooled.wrappedBuffer(new byte[] {2, (byte) 0xff, (byte) 0xff})));
    assertThat(t).isInstanceOf(FrameException.class).hasMessageStartingWith("malformed frame (2 bytes)");
    ch.writeInbound(Unpooled.wrappedBuffer(delimited(Frames.ping(1))));
    assertThat(((PeerFrame) ch.readInbound()).getPing().getNonce()).isEqualTo(1);
  }

  private static byte[] concat(byte[]... parts) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (byte[] p : parts) {
      out.writeBytes(p);
    }
    return out.toByteArray();
  }

  @Test
  void aDataFrameWithAChannelIdAbove32BitsMeansWhatProtobufSaysOnTheFastPathToo() {
    // data { channel_id: 2^32 + 5 (a five-byte varint), payload: "x" }: protobuf reads id 5.
    byte[] inner = {0x08, (byte) 0x85, (byte) 0x80, (byte) 0x80, (byte) 0x80, 0x10, 0x12, 0x01, 'x'};
    ByteArrayOutputStream frame = new ByteArrayOutputStream();
    frame.write(0x1a);
    frame.write(inner.length);
    frame.writeBytes(inner);
    ByteArrayOutputStream wire = new ByteArrayOutputStream();
    wire.write(frame.size());
    wire.writeBytes(frame.toByteArray());
    ch.writeInbound(Unpooled.wrappedBuffer(wire.toByteArray()));
    Object msg = ch.readInbound();
    long id;
    if (msg instanceof InboundData d) {
      id = d.channelId();
      d.payload().release();
    } else {
      id = Frames.id(((PeerFrame) msg).getData().getChannelId());
    }
    assertThat(id).isEqualTo(5);
  }
}
