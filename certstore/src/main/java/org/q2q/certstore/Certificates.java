package org.q2q.certstore;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import org.q2q.certstore.internal.Bc;

/** Certificate helpers: DER and PEM in and out, and the q2q address a certificate names. */
public final class Certificates {
  private static final int SAN_URI = 6;

  private Certificates() {}

  /**
   * Parses one DER certificate.
   *
   * @throws CertificateException when the bytes are not a certificate
   */
  public static X509Certificate fromDer(byte[] der) throws CertificateException {
    return (X509Certificate)
        CertificateFactory.getInstance("X.509").generateCertificate(new ByteArrayInputStream(der));
  }

  /** Parses a DER chain (leaf first). */
  public static List<X509Certificate> fromDer(Collection<byte[]> ders) throws CertificateException {
    List<X509Certificate> out = new ArrayList<>(ders.size());
    for (byte[] d : ders) {
      out.add(fromDer(d));
    }
    return out;
  }

  /** The DER encoding of {@code cert}. */
  public static byte[] toDer(X509Certificate cert) {
    try {
      return cert.getEncoded();
    } catch (java.security.cert.CertificateEncodingException e) {
      throw new IllegalStateException(e);
    }
  }

  /** PEM text of certificates, in order. */
  public static String toPem(List<X509Certificate> certs) {
    StringBuilder b = new StringBuilder();
    certs.forEach(c -> b.append(Bc.toPem(c)));
    return b.toString();
  }

  /** PEM text (PKCS#8) of a private key. */
  public static String toPem(PrivateKey key) {
    return Bc.toPem(key);
  }

  /** Every certificate in a PEM file, in order. */
  public static List<X509Certificate> readPem(Path file) throws IOException {
    List<X509Certificate> certs = Bc.certificatesFromPem(Files.readString(file, StandardCharsets.UTF_8));
    if (certs.isEmpty()) {
      throw new IOException("no certificate in " + file);
    }
    return certs;
  }

  /** Every certificate in PEM text, in order. */
  public static List<X509Certificate> fromPem(String pem) throws IOException {
    List<X509Certificate> certs = Bc.certificatesFromPem(pem);
    if (certs.isEmpty()) {
      throw new IOException("no certificate in the PEM text");
    }
    return certs;
  }

  /**
   * Reads a private key file, refusing one readable by others.
   *
   * @param publicKey the matching public key if known (else it is derived)
   */
  public static KeyPair readPrivateKey(Path file, PublicKey publicKey) throws IOException {
    SecureFiles.checkPrivate(file);
    KeyPair kp = Bc.keyPairFromPem(Files.readString(file, StandardCharsets.UTF_8), publicKey);
    if (publicKey != null && !KeyPairs.matches(kp.getPrivate(), publicKey)) {
      throw new IOException(file + " does not hold the private key of its certificate (left from another key pair,"
          + " e.g. by a crash while it was replaced); register again, or restore both files together");
    }
    return kp;
  }

  /**
   * The q2q address a certificate is for: its SAN URI {@code q2q:...}, which must agree with its
   * subject CN.
   */
  public static Optional<Address> addressOf(X509Certificate cert) {
    try {
      Collection<List<?>> sans = cert.getSubjectAlternativeNames();
      if (sans == null) {
        return Optional.empty();
      }
      for (List<?> san : sans) {
        if (san.size() >= 2 && Integer.valueOf(SAN_URI).equals(san.get(0))
            && san.get(1) instanceof String s && s.startsWith("q2q:")) {
          return Optional.of(Address.parse(s.substring(4)));
        }
      }
      return Optional.empty();
    } catch (CertificateParsingException | IllegalArgumentException e) {
      return Optional.empty();
    }
  }

  /** The subject CN, or empty. */
  public static String commonName(X509Certificate cert) {
    String dn = cert.getSubjectX500Principal().getName();
    for (String part : dn.split(",")) {
      if (part.startsWith("CN=")) {
        return part.substring(3);
      }
    }
    return "";
  }
}
