package org.q2q.client.internal.peer;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.channel.embedded.EmbeddedChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * What reaches the TLS handler: the bytes of every write, in order, with small writes gathered
 * into one buffer (one record) and large payloads passed on as they are (no copy).
 */
class RecordBatcherTest {
  private final EmbeddedChannel ch = new EmbeddedChannel(new RecordBatcher());

  @AfterEach
  void tearDown() {
    ch.finishAndReleaseAll();
  }

  private static ByteBuf ascii(String s) {
    return Unpooled.directBuffer().writeBytes(s.getBytes(StandardCharsets.US_ASCII));
  }

  private List<ByteBuf> outbound() {
    List<ByteBuf> out = new ArrayList<>();
    ByteBuf b;
    while ((b = ch.readOutbound()) != null) {
      out.add(b);
    }
    return out;
  }

  private static String text(List<ByteBuf> bufs) {
    StringBuilder sb = new StringBuilder();
    for (ByteBuf b : bufs) {
      sb.append(b.toString(StandardCharsets.US_ASCII));
    }
    return sb.toString();
  }

  @Test
  void smallWritesOfOneLoopTurnLeaveAsOneBufferAtTheFlush() {
    ch.write(ascii("header1:"), ch.voidPromise());
    ch.write(ascii("ping;"), ch.voidPromise());
    ch.write(ascii("header2:"), ch.voidPromise());
    assertThat((Object) ch.readOutbound()).as("nothing leaves before the flush").isNull();
    ch.flush();
    List<ByteBuf> out = outbound();
    assertThat(out).hasSize(1);
    assertThat(text(out)).isEqualTo("header1:ping;header2:");
    out.forEach(ByteBuf::release);
  }

  @Test
  void aLargePayloadIsPassedOnUncopiedAfterWhatWasGathered() {
    byte[] data = new byte[64 * 1024];
    new Random(7).nextBytes(data);
    ByteBuf payload = ch.alloc().directBuffer(data.length).writeBytes(data);
    ch.write(ascii("hdr"), ch.voidPromise());
    ch.write(payload, ch.voidPromise());
    ch.write(ascii("next"), ch.voidPromise());
    ch.flush();
    List<ByteBuf> out = outbound();
    assertThat(out).hasSize(3);
    assertThat(out.get(0).toString(StandardCharsets.US_ASCII)).isEqualTo("hdr");
    assertThat(out.get(1)).isSameAs(payload);
    assertThat(ByteBufUtil.getBytes(out.get(1))).isEqualTo(data);
    assertThat(out.get(2).toString(StandardCharsets.US_ASCII)).isEqualTo("next");
    out.forEach(ByteBuf::release);
  }

  @Test
  void aFullBatchLeavesBeforeTheWriteThatWouldOverflowIt() {
    StringBuilder expected = new StringBuilder();
    for (int i = 0; i < 20; i++) {
      String s = String.valueOf((char) ('a' + i)).repeat(RecordBatcher.SMALL_WRITE);
      expected.append(s);
      ch.write(ascii(s), ch.voidPromise());
    }
    ch.flush();
    List<ByteBuf> out = outbound();
    assertThat(text(out)).isEqualTo(expected.toString());
    assertThat(out).allSatisfy(b -> assertThat(b.readableBytes()).isLessThanOrEqualTo(RecordBatcher.BATCH_BYTES));
    assertThat(out).hasSize(3); // 8 + 8 + 4 writes of 2 KiB
    out.forEach(ByteBuf::release);
  }

  @Test
  void aWriteWithItsOwnPromiseKeepsItAndItsPlace() {
    ch.write(ascii("before "), ch.voidPromise());
    ChannelFuture f = ch.write(ascii("reset"));
    ch.flush();
    assertThat(f.isSuccess()).isTrue();
    List<ByteBuf> out = outbound();
    assertThat(out).hasSize(2);
    assertThat(text(out)).isEqualTo("before reset");
    out.forEach(ByteBuf::release);
  }

  @Test
  void closingWritesWhatWasGatheredFirst() {
    List<String> seen = new ArrayList<>();
    ch.pipeline().addFirst(new ChannelOutboundHandlerAdapter() {
      @Override
      public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise p) {
        seen.add(((ByteBuf) msg).toString(StandardCharsets.US_ASCII));
        ctx.write(msg, p);
      }

      @Override
      public void close(ChannelHandlerContext ctx, ChannelPromise p) {
        seen.add("<close>");
        ctx.flush(); // as the TLS handler does before its close_notify
        ctx.close(p);
      }
    });
    ch.write(ascii("last words"), ch.voidPromise());
    ch.close();
    assertThat(seen).containsExactly("last words", "<close>");
  }

  @Test
  void aGatheredBatchIsReleasedWhenTheHandlerGoes() {
    UnpooledByteBufAllocator alloc = new UnpooledByteBufAllocator(true);
    ch.config().setAllocator(alloc);
    ByteBuf small = Unpooled.directBuffer().writeBytes(new byte[10]);
    ch.write(small, ch.voidPromise());
    assertThat(small.refCnt()).isZero(); // copied into the batch
    assertThat(alloc.metric().usedDirectMemory()).isEqualTo(RecordBatcher.BATCH_BYTES);
    ch.pipeline().removeFirst();
    assertThat(alloc.metric().usedDirectMemory()).as("the batch's memory is given back").isZero();
    assertThat((Object) ch.readOutbound()).isNull();
  }
}
