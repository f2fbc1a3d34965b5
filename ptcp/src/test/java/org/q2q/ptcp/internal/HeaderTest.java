package org.q2q.ptcp.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 10, unit = TimeUnit.SECONDS)
class HeaderTest {
  final CRC32C crc = new CRC32C();

  ByteBuffer encode(Header h, byte[] payload) {
    ByteBuffer b = ByteBuffer.allocate(2000);
    h.payloadLength = payload.length;
    h.encode(b);
    b.put(payload);
    Header.seal(b, 0, crc);
    b.flip();
    return b;
  }

  @Test
  void roundTripsAllFieldsAndOptions() {
    Header h = new Header();
    h.flags = Header.ACK | Header.FIN | Header.PSH;
    h.dstCid = 0xCAFEBABE;
    h.srcCid = 42;
    h.seq = -5;
    h.ack = 123456;
    h.window = 65535;
    h.hasHandshake = true;
    h.hsIsn = 99;
    h.hsMaxDatagram = 1452;
    h.hsWindowScale = 7;
    h.sackCount = 3;
    for (int i = 0; i < 3; i++) {
      h.sackLeft[i] = i * 10;
      h.sackRight[i] = i * 10 + 5;
    }
    h.probeAck = 1400;
    h.errorCode = 3;
    ByteBuffer b = encode(h, "hello".getBytes());
    assertThat(b.remaining()).isEqualTo(h.encodedLength() + 5);
    Header d = new Header();
    assertThat(d.decode(b, crc)).isEqualTo(Header.OK);
    assertThat(d.flags).isEqualTo(h.flags);
    assertThat(d.dstCid).isEqualTo(0xCAFEBABE);
    assertThat(d.seq).isEqualTo(-5);
    assertThat(d.window).isEqualTo(65535);
    assertThat(d.hsWindowScale).isEqualTo(7);
    assertThat(d.sackCount).isEqualTo(3);
    assertThat(d.sackRight[2]).isEqualTo(25);
    assertThat(d.probeAck).isEqualTo(1400);
    assertThat(d.errorCode).isEqualTo(3);
    assertThat(d.payloadLength).isEqualTo(5);
    assertThat(b.position()).isEqualTo(d.headerLength);
  }

  @Test
  void everySingleBitFlipIsDetected() {
    Header h = new Header();
    h.flags = Header.ACK;
    h.dstCid = 1;
    byte[] p = new byte[200];
    new Random(1).nextBytes(p);
    ByteBuffer good = encode(h, p);
    Header d = new Header();
    for (int i = 0; i < good.remaining() * 8; i++) {
      ByteBuffer b = ByteBuffer.allocate(good.remaining());
      b.put(good.duplicate()).flip();
      b.put(i / 8, (byte) (b.get(i / 8) ^ (1 << (i % 8))));
      int st = d.decode(b, crc);
      assertThat(st).as("bit %d", i).isNotEqualTo(Header.OK);
    }
  }

  @Test
  void classifiesTruncatedAndForeignDatagrams() {
    Header h = new Header();
    h.flags = Header.ACK;
    ByteBuffer b = encode(h, new byte[1000]);
    ByteBuffer cut = ByteBuffer.allocate(128);
    cut.put(b.duplicate().limit(128)).flip();
    Header d = new Header();
    assertThat(d.decode(cut, crc)).isEqualTo(Header.TRUNCATED);
    assertThat(d.datagramLength).isEqualTo(128);
    assertThat(d.decode(ByteBuffer.wrap("NAT!".getBytes()), crc)).isEqualTo(Header.NOT_PTCP);
    assertThat(d.decode(ByteBuffer.wrap(new byte[40]), crc)).isEqualTo(Header.NOT_PTCP);
  }

  /**
   * Found by PtcpFuzzTest (crash-7b0ef5d3...): a probe-ack or error option two bytes long at the
   * end of the options was read past the datagram, an IndexOutOfBoundsException on the event loop.
   */
  @Test
  void aTruncatedFixedSizeOptionIsCorruptNotAnException() {
    for (int kind : new int[] {Header.OPT_PROBE_ACK, Header.OPT_ERROR}) {
      java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
      ByteBuffer b = ByteBuffer.allocate(32);
      b.put((byte) Header.MAGIC).put((byte) Header.VERSION).put((byte) Header.ACK).put((byte) (32 / 4));
      b.putInt(1).putInt(2).putInt(3).putInt(4).putShort((short) 100).putShort((short) 0).putInt(0);
      b.put((byte) Header.OPT_NOP).put((byte) Header.OPT_NOP).put((byte) kind).put((byte) 2);
      Header.seal(b, 0, crc);
      b.flip();
      assertThat(new Header().decode(b, crc)).as("option kind %d", kind).isEqualTo(Header.CORRUPT);
    }
  }
}
