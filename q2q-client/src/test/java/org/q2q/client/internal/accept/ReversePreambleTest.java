package org.q2q.client.internal.accept;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.Test;

/** The first bytes of an accepted TCP connection: TLS, a reverse preamble, or neither. */
class ReversePreambleTest {
  private static ReversePreamble.Decoded decode(byte... bytes) {
    ByteBuf b = Unpooled.wrappedBuffer(bytes);
    try {
      return ReversePreamble.decode(b);
    } finally {
      b.release();
    }
  }

  @Test
  void aTlsRecordIsADirectConnectionAndNothingIsConsumed() {
    ByteBuf b = Unpooled.wrappedBuffer(new byte[] {0x16, 3, 1, 0, 5});
    assertThat(ReversePreamble.decode(b)).isInstanceOf(ReversePreamble.Direct.class);
    assertThat(b.readerIndex()).isZero();
    b.release();
  }

  @Test
  void aWholePreambleNamesTheListenerIdAndLeavesWhatFollows() {
    ByteBuf b = ReversePreamble.encode(ByteBufAllocator.DEFAULT, "abc-123_XYZ");
    b.writeByte(0x16); // the TLS that follows is not the preamble's
    assertThat(ReversePreamble.decode(b)).isEqualTo(new ReversePreamble.Reverse("abc-123_XYZ"));
    assertThat(b.readableBytes()).isEqualTo(1);
    b.release();
  }

  @Test
  void everyPrefixOfAPreambleAsksForMore() {
    ByteBuf whole = ReversePreamble.encode(ByteBufAllocator.DEFAULT, "id42");
    for (int n = 0; n < whole.readableBytes(); n++) {
      ByteBuf part = whole.retainedSlice(0, n);
      assertThat(ReversePreamble.decode(part)).as("first %d bytes", n).isInstanceOf(ReversePreamble.NeedMore.class);
      assertThat(part.readerIndex()).isZero();
      part.release();
    }
    whole.release();
  }

  @Test
  void anythingElseIsRefusedWithAReason() {
    assertThat(decode((byte) 'G', (byte) 'E', (byte) 'T')).isInstanceOf(ReversePreamble.Invalid.class);
    assertThat(decode((byte) 'Q', (byte) 'X')).isInstanceOf(ReversePreamble.Invalid.class);
    assertThat(decode((byte) 'Q', (byte) '2', (byte) 'Q', (byte) 'R', (byte) 0)).isInstanceOf(ReversePreamble.Invalid.class);
    assertThat(decode((byte) 'Q', (byte) '2', (byte) 'Q', (byte) 'R', (byte) 65)).isInstanceOf(ReversePreamble.Invalid.class);
    assertThat(decode((byte) 'Q', (byte) '2', (byte) 'Q', (byte) 'R', (byte) 2, (byte) 'a', (byte) '\n'))
        .isInstanceOf(ReversePreamble.Invalid.class);
  }

  @Test
  void idsOutsideTheWireLimitsAreNotEncoded() {
    assertThatThrownBy(() -> ReversePreamble.encode(ByteBufAllocator.DEFAULT, ""))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> ReversePreamble.encode(ByteBufAllocator.DEFAULT, "x".repeat(65)))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
