package org.q2q.client.internal.punch;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HexFormat;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The secret of one hole punch, derived from the listener id of the Inbound it serves: both peers
 * learn that id over TLS from the presence server (the connector in the Inbound answer, the
 * listener in the InboundQuery), nobody on the UDP path does. Two values come out of it:
 *
 * <ul>
 *   <li>a 32-byte MAC key, {@code HMAC-SHA256(id, "q2q punch key v1")}, which authenticates every
 *       probe ({@link #mac}: HMAC-SHA256 truncated to 16 bytes);
 *   <li>an 8-byte tag, {@code HMAC-SHA256(id, "q2q punch tag v1")[0..8)}, carried in clear in every
 *       probe so that a socket running several punches hands each probe to the right one (it
 *       reveals nothing about the key).
 * </ul>
 * Not thread-safe (one {@link Mac} instance); one per punch, used on the socket's event loop.
 */
public final class PunchKey {
  /** Bytes of the truncated MAC carried in a probe. */
  public static final int MAC_BYTES = 16;

  private final Mac mac;
  private final long tag;

  /** Derives the key and tag from {@code listenerId} (the Inbound's id, as sent on the wire). */
  public PunchKey(String listenerId) {
    if (listenerId == null || listenerId.isEmpty()) {
      throw new IllegalArgumentException("a hole punch needs the listener id of its Inbound");
    }
    byte[] id = listenerId.getBytes(StandardCharsets.UTF_8);
    try {
      Mac derive = Mac.getInstance("HmacSHA256");
      derive.init(new SecretKeySpec(id, "HmacSHA256"));
      byte[] key = derive.doFinal("q2q punch key v1".getBytes(StandardCharsets.US_ASCII));
      this.tag = ByteBuffer.wrap(derive.doFinal("q2q punch tag v1".getBytes(StandardCharsets.US_ASCII))).getLong();
      this.mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(key, "HmacSHA256"));
      Arrays.fill(key, (byte) 0);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 is missing from this JDK", e);
    }
  }

  /** The tag that names this punch in its probes. */
  public long tag() {
    return tag;
  }

  /** The truncated MAC of {@code b[from, from + len)}. */
  byte[] mac(byte[] b, int from, int len) {
    mac.update(b, from, len);
    return Arrays.copyOf(mac.doFinal(), MAC_BYTES);
  }

  /** Whether {@code b[macAt, macAt + 16)} is the MAC of {@code b[0, macAt)}, in constant time. */
  boolean verify(byte[] b, int macAt) {
    byte[] expected = mac(b, 0, macAt);
    return MessageDigest.isEqual(expected, Arrays.copyOfRange(b, macAt, macAt + MAC_BYTES));
  }

  @Override
  public String toString() {
    return "punch " + HexFormat.of().toHexDigits(tag);
  }
}
