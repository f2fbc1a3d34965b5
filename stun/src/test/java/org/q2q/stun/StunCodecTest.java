package org.q2q.stun;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Random;
import org.junit.jupiter.api.Test;

class StunCodecTest {
  /** RFC 5769 section 2.2 and 2.3: the transaction id of the sample responses. */
  private static final byte[] RFC5769_TX = HexFormat.of().parseHex("b7e7a701bc34d686fa87dfae");
  /** RFC 5769 section 2.2, the sample IPv4 response (SOFTWARE, XOR-MAPPED, MESSAGE-INTEGRITY, FINGERPRINT). */
  private static final byte[] RFC5769_IPV4_RESPONSE = HexFormat.of().parseHex(
      "0101003c2112a442b7e7a701bc34d686fa87dfae"
          + "8022000b7465737420766563746f7220"
          + "002000080001a147e112a643"
          + "000800142b91f599fd9e90c38c7489f92af9ba53f06be7d7"
          + "80280004c07d4c96");

  private static ByteBuffer request(byte[] tx) {
    return ByteBuffer.wrap(StunCodec.bindingRequest(tx));
  }

  private static ByteBuffer bareRequest(byte[] tx) {
    ByteBuffer b = ByteBuffer.allocate(20);
    b.putShort((short) 1).putShort((short) 0).putInt(StunCodec.MAGIC_COOKIE).put(tx).flip();
    return b;
  }

  private static byte[] answer(ByteBuffer request, InetSocketAddress mapped) {
    ByteBuffer out = ByteBuffer.allocate(StunCodec.MAX_ANSWER_BYTES);
    int n = StunCodec.writeBindingSuccess(request, mapped, out);
    assertThat(out.position()).isEqualTo(n);
    return Arrays.copyOf(out.array(), n);
  }

  @Test
  void readsTheRfc5769SampleIpv4Response() {
    StunCodec.BindingSuccess s = StunCodec.readBindingSuccess(ByteBuffer.wrap(RFC5769_IPV4_RESPONSE));
    assertThat(s).isNotNull();
    assertThat(s.answers(RFC5769_TX)).isTrue();
    assertThat(s.mapped()).isEqualTo(new InetSocketAddress("192.0.2.1", 32853));
  }

  @Test
  void aCorruptedFingerprintMakesTheResponseUnreadable() {
    byte[] b = RFC5769_IPV4_RESPONSE.clone();
    b[b.length - 1] ^= 1;
    assertThat(StunCodec.readBindingSuccess(ByteBuffer.wrap(b))).isNull();
  }

  @Test
  void xorMappedAddressMatchesTheRfc5769Encoding() throws Exception {
    byte[] v4 = answer(bareRequest(RFC5769_TX), new InetSocketAddress("192.0.2.1", 32853));
    assertThat(HexFormat.of().formatHex(v4, 20, 32)).isEqualTo("002000080001a147e112a643");
    InetAddress six = InetAddress.getByName("2001:db8:1234:5678:11:2233:4455:6677");
    byte[] v6 = answer(bareRequest(RFC5769_TX), new InetSocketAddress(six, 32853));
    assertThat(HexFormat.of().formatHex(v6, 20, 44))
        .isEqualTo("002000140002a1470113a9faa5d3f179bc25f4b5bed2b9d9");
  }

  @Test
  void aBare20ByteRequestGetsOnlyXorMappedAddress() {
    byte[] tx = new byte[12];
    new Random(1).nextBytes(tx);
    ByteBuffer req = bareRequest(tx);
    assertThat(StunCodec.checkBindingRequest(req)).isNull();
    byte[] a = answer(req, new InetSocketAddress("203.0.113.7", 40000));
    assertThat(a).hasSize(32);
    assertThat(a[0]).isEqualTo((byte) 0x01);
    assertThat(a[1]).isEqualTo((byte) 0x01);
    assertThat(Arrays.copyOfRange(a, 8, 20)).isEqualTo(tx);
    StunCodec.BindingSuccess s = StunCodec.readBindingSuccess(ByteBuffer.wrap(a));
    assertThat(s.mapped()).isEqualTo(new InetSocketAddress("203.0.113.7", 40000));
    assertThat(s.answers(tx)).isTrue();
    assertThat(req.position()).isZero();
  }

  @Test
  void largerRequestsGetMappedAddressAndFingerprintButNeverMoreBytesThanTheySent() throws Exception {
    InetSocketAddress v4 = new InetSocketAddress("198.51.100.9", 1234);
    InetSocketAddress v6 = new InetSocketAddress(InetAddress.getByName("2001:db8::9"), 1234);
    for (int size = 20; size <= 120; size += 4) {
      ByteBuffer req = padded(size);
      assertThat(StunCodec.checkBindingRequest(req)).as("size %d", size).isNull();
      for (InetSocketAddress m : new InetSocketAddress[] {v4, v6}) {
        byte[] a = answer(req, m);
        int minimal = m == v4 ? 32 : 44;
        assertThat(a.length).as("answer to %d bytes", size).isLessThanOrEqualTo(Math.max(size, minimal));
        assertThat(a.length).isEqualTo(StunCodec.answerSize(size, m == v6));
        StunCodec.BindingSuccess s = StunCodec.readBindingSuccess(ByteBuffer.wrap(a));
        assertThat(s).isNotNull();
        assertThat(s.mapped()).isEqualTo(m);
      }
    }
    assertThat(answer(padded(52), v4)).hasSize(52); // XOR + MAPPED + FINGERPRINT
    assertThat(answer(padded(76), v6)).hasSize(76);
  }

  /** A Binding request of {@code size} bytes, filled with a PADDING attribute. */
  private static ByteBuffer padded(int size) {
    ByteBuffer b = ByteBuffer.allocate(size);
    b.putShort((short) 1).putShort((short) (size - 20)).putInt(StunCodec.MAGIC_COOKIE).put(new byte[12]);
    if (size > 20) {
      b.putShort((short) StunCodec.PADDING).putShort((short) (size - 24));
    }
    return b.position(0);
  }

  @Test
  void theClientsRequestCarriesAValidFingerprint() {
    byte[] tx = new byte[12];
    ByteBuffer req = request(tx);
    assertThat(req.remaining()).isEqualTo(28);
    assertThat(StunCodec.checkBindingRequest(req)).isNull();
    byte[] bad = StunCodec.bindingRequest(tx);
    bad[27] ^= 0x40;
    assertThat(StunCodec.checkBindingRequest(ByteBuffer.wrap(bad))).isEqualTo(StunDrop.BAD_FINGERPRINT);
    assertThatThrownBy(() -> StunCodec.bindingRequest(new byte[11])).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("11");
  }

  @Test
  void everyMalformedRequestIsDroppedWithItsReason() {
    byte[] ok = StunCodec.bindingRequest(new byte[12]);
    assertThat(check(Arrays.copyOf(ok, 19))).isEqualTo(StunDrop.TOO_SHORT);
    assertThat(check(Arrays.copyOf(ok, 24))).isEqualTo(StunDrop.BAD_LENGTH); // truncated
    byte[] ptcp = ok.clone();
    ptcp[0] = (byte) 0xD7;
    assertThat(check(ptcp)).isEqualTo(StunDrop.NOT_STUN);
    byte[] noCookie = ok.clone();
    noCookie[5] = 0;
    assertThat(check(noCookie)).isEqualTo(StunDrop.NOT_STUN);
    byte[] indication = bareRequest(new byte[12]).array();
    indication[1] = 0x11; // Binding indication
    assertThat(check(indication)).isEqualTo(StunDrop.NOT_BINDING_REQUEST);
    byte[] response = bareRequest(new byte[12]).array();
    response[0] = 0x01;
    response[1] = 0x01;
    assertThat(check(response)).isEqualTo(StunDrop.NOT_BINDING_REQUEST);
    byte[] allocate = bareRequest(new byte[12]).array();
    allocate[1] = 0x03; // TURN Allocate
    assertThat(check(allocate)).isEqualTo(StunDrop.NOT_BINDING_REQUEST);
    byte[] odd = ok.clone();
    odd[3] = 7;
    assertThat(check(odd)).isEqualTo(StunDrop.BAD_LENGTH);
    assertThat(check(new byte[600])).isEqualTo(StunDrop.NOT_STUN);
    byte[] huge = Arrays.copyOf(ok, 600);
    assertThat(check(huge)).isEqualTo(StunDrop.TOO_LONG);
    // attribute overrunning the message
    ByteBuffer over = padded(28);
    over.putShort(22, (short) 100);
    assertThat(StunCodec.checkBindingRequest(over)).isEqualTo(StunDrop.BAD_ATTRIBUTE);
    // USERNAME (comprehension-required, not implemented)
    ByteBuffer user = padded(28);
    user.putShort(20, (short) 0x0006);
    assertThat(StunCodec.checkBindingRequest(user)).isEqualTo(StunDrop.UNKNOWN_REQUIRED_ATTRIBUTE);
    // SOFTWARE (comprehension-optional) is fine
    ByteBuffer software = padded(28);
    software.putShort(20, (short) 0x8022);
    assertThat(StunCodec.checkBindingRequest(software)).isNull();
    // FINGERPRINT not last
    ByteBuffer fpFirst = padded(36);
    fpFirst.putShort(20, (short) StunCodec.FINGERPRINT).putShort(22, (short) 4);
    assertThat(StunCodec.checkBindingRequest(fpFirst)).isEqualTo(StunDrop.BAD_ATTRIBUTE);
  }

  private static StunDrop check(byte[] b) {
    return StunCodec.checkBindingRequest(ByteBuffer.wrap(b));
  }

  @Test
  void randomBytesNeverCrashTheCheckerOrTheReader() {
    Random r = new Random(42);
    ByteBuffer base = request(new byte[12]);
    for (int i = 0; i < 200_000; i++) {
      byte[] b = new byte[r.nextInt(80)];
      r.nextBytes(b);
      if (i % 2 == 0 && b.length >= 20) { // keep the STUN shape so the parser goes deep
        b[0] &= 0x3f;
        ByteBuffer.wrap(b).putInt(4, StunCodec.MAGIC_COOKIE).putShort(2, (short) (b.length - 20));
      }
      ByteBuffer in = ByteBuffer.wrap(b);
      StunDrop d = StunCodec.checkBindingRequest(in);
      if (d == null) {
        assertThat(answer(in, new InetSocketAddress("10.1.2.3", 9)).length).isLessThanOrEqualTo(Math.max(b.length, 32));
      }
      StunCodec.readBindingSuccess(in);
      assertThat(in.position()).isZero();
    }
    assertThat(StunCodec.checkBindingRequest(base)).isNull();
  }

  @Test
  void looksLikeStunIsTheDemultiplexingRule() {
    assertThat(StunCodec.looksLikeStun(request(new byte[12]))).isTrue();
    byte[] ptcp = new byte[40];
    ptcp[0] = (byte) 0xD7;
    assertThat(StunCodec.looksLikeStun(ByteBuffer.wrap(ptcp))).isFalse();
    assertThat(StunCodec.looksLikeStun(ByteBuffer.wrap("NAT!".getBytes()))).isFalse();
    ByteBuffer shifted = ByteBuffer.allocate(40);
    shifted.position(8);
    shifted.put(StunCodec.bindingRequest(new byte[12])).flip().position(8);
    assertThat(StunCodec.looksLikeStun(shifted)).isTrue();
    assertThat(StunCodec.checkBindingRequest(shifted)).isNull();
  }
}
