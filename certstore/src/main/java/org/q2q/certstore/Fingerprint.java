package org.q2q.certstore;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.util.HexFormat;
import java.util.Locale;

/**
 * The SHA-256 fingerprint of a certificate's DER encoding, written {@code SHA256:ab:cd:...} (the
 * form {@code q2q identify} prints and {@code --ca-fingerprint} accepts, with or without the prefix
 * and colons).
 */
public record Fingerprint(byte[] sha256) {
  /** The fingerprint of {@code cert}. */
  public static Fingerprint of(X509Certificate cert) {
    try {
      return new Fingerprint(MessageDigest.getInstance("SHA-256").digest(cert.getEncoded()));
    } catch (NoSuchAlgorithmException | CertificateEncodingException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * Parses {@code SHA256:ab:cd:..}, {@code ab:cd:..} or 64 hex digits.
   *
   * @throws IllegalArgumentException naming the input when it is not a SHA-256 fingerprint
   */
  public static Fingerprint parse(String text) {
    String t = text.trim();
    if (t.regionMatches(true, 0, "SHA256:", 0, 7)) {
      t = t.substring(7);
    }
    t = t.replace(":", "").toLowerCase(Locale.ROOT);
    if (!t.matches("[0-9a-f]{64}")) {
      throw new IllegalArgumentException(
          "'" + text + "' is not a SHA-256 fingerprint (64 hex digits, colons optional)");
    }
    return new Fingerprint(HexFormat.of().parseHex(t));
  }

  /** True if this fingerprint is that of {@code cert}. */
  public boolean matches(X509Certificate cert) {
    return MessageDigest.isEqual(sha256, of(cert).sha256);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Fingerprint f && MessageDigest.isEqual(sha256, f.sha256);
  }

  @Override
  public int hashCode() {
    return java.util.Arrays.hashCode(sha256);
  }

  @Override
  public String toString() {
    return "SHA256:" + HexFormat.ofDelimiter(":").formatHex(sha256);
  }
}
