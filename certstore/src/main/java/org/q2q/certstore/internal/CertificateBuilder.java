package org.q2q.certstore.internal;

import java.io.IOException;
import java.net.InetAddress;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Objects;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.OperatorCreationException;

/**
 * Not API. Builds X.509 v3 certificates (RFC 5280) from JDK types, the chain rules right by
 * construction: the issuer DN is the issuer's subject, SKI/AKI are set, BasicConstraints and
 * KeyUsage are critical, serials are 159-bit random, and only a CA certificate may issue.
 *
 * <pre>
 * X509Certificate root = CertificateBuilder.ca(0).subject("example.com").uri("q2q:example.com")
 *     .validity(from, until).key(caKeys.getPublic()).selfSigned(caKeys.getPrivate());
 * X509Certificate leaf = CertificateBuilder.identity().subject("alice@example.com")
 *     .uri("q2q:alice@example.com").validity(from, until).key(aliceKey).issuedBy(root, caKeys.getPrivate());
 * </pre>
 *
 * A configured builder can be {@link #copy() copied} as a template. Not thread-safe.
 */
public final class CertificateBuilder {
  /** What a certificate may be used for. */
  public enum Usage {
    /** A CA: keyCertSign + cRLSign, BasicConstraints CA with a path length. */
    CA,
    /** A user or server identity: digitalSignature, EKU serverAuth + clientAuth, not a CA. */
    IDENTITY
  }

  private final Usage usage;
  private final int pathLength; // CA only
  private String subject;
  private PublicKey key;
  private Instant notBefore;
  private Instant notAfter;
  private final List<String> uris = new ArrayList<>();
  private final List<String> dnsNames = new ArrayList<>();
  private final List<InetAddress> ips = new ArrayList<>();

  private CertificateBuilder(Usage usage, int pathLength) {
    this.usage = usage;
    this.pathLength = pathLength;
  }

  /** A CA certificate allowing {@code pathLength} intermediate CAs below it. */
  public static CertificateBuilder ca(int pathLength) {
    if (pathLength < 0) {
      throw new IllegalArgumentException("path length must be >= 0: " + pathLength);
    }
    return new CertificateBuilder(Usage.CA, pathLength);
  }

  /** An end-entity (identity) certificate. */
  public static CertificateBuilder identity() {
    return new CertificateBuilder(Usage.IDENTITY, -1);
  }

  /** A copy of this builder's settings. */
  public CertificateBuilder copy() {
    CertificateBuilder b = new CertificateBuilder(usage, pathLength);
    b.subject = subject;
    b.key = key;
    b.notBefore = notBefore;
    b.notAfter = notAfter;
    b.uris.addAll(uris);
    b.dnsNames.addAll(dnsNames);
    b.ips.addAll(ips);
    return b;
  }

  /** The subject: CN={@code commonName} and nothing else. */
  public CertificateBuilder subject(String commonName) {
    this.subject = Objects.requireNonNull(commonName, "commonName");
    return this;
  }

  /** The certified public key. */
  public CertificateBuilder key(PublicKey key) {
    this.key = Objects.requireNonNull(key, "key");
    return this;
  }

  /** Valid from {@code from} until {@code until} (inclusive, UTC). */
  public CertificateBuilder validity(Instant from, Instant until) {
    if (!until.isAfter(from)) {
      throw new IllegalArgumentException("validity ends (" + until + ") before it starts (" + from + ")");
    }
    this.notBefore = from;
    this.notAfter = until;
    return this;
  }

  /** Adds a SAN URI, e.g. {@code q2q:alice@example.com}. */
  public CertificateBuilder uri(String uri) {
    uris.add(uri);
    return this;
  }

  /** Adds SAN DNS names. */
  public CertificateBuilder dnsNames(List<String> names) {
    dnsNames.addAll(names);
    return this;
  }

  /** Adds SAN IP addresses. */
  public CertificateBuilder ips(List<InetAddress> addresses) {
    ips.addAll(addresses);
    return this;
  }

  /** Signs with the subject's own key (only for a CA). */
  public X509Certificate selfSigned(PrivateKey ownKey) {
    if (usage != Usage.CA) {
      throw new IllegalStateException("only a CA certificate is self-signed here, not " + subject);
    }
    return build(Bc.cn(requireSet(subject, "subject")), ownKey, null);
  }

  /** Signs with {@code issuerKey}, the key of {@code issuer}, which must be a CA. */
  public X509Certificate issuedBy(X509Certificate issuer, PrivateKey issuerKey) {
    if (issuer.getBasicConstraints() < 0) {
      throw new IllegalArgumentException(
          issuer.getSubjectX500Principal().getName() + " is not a CA and may not issue certificates");
    }
    return build(X500Name.getInstance(issuer.getSubjectX500Principal().getEncoded()), issuerKey, issuer);
  }

  private X509Certificate build(X500Name issuerName, PrivateKey signerKey, X509Certificate issuer) {
    requireSet(subject, "subject");
    requireSet(key, "key");
    requireSet(notBefore, "validity");
    try {
      X509v3CertificateBuilder b =
          new JcaX509v3CertificateBuilder(
              issuerName, Bc.newSerial(), Date.from(notBefore), Date.from(notAfter), Bc.cn(subject), key);
      JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
      b.addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(key));
      b.addExtension(Extension.authorityKeyIdentifier, false,
          issuer != null ? ext.createAuthorityKeyIdentifier(issuer) : ext.createAuthorityKeyIdentifier(key));
      if (usage == Usage.CA) {
        b.addExtension(Extension.basicConstraints, true, new BasicConstraints(pathLength));
        b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
      } else {
        b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
        b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature));
        b.addExtension(Extension.extendedKeyUsage, false,
            new ExtendedKeyUsage(new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth}));
      }
      List<GeneralName> names = new ArrayList<>();
      uris.forEach(u -> names.add(new GeneralName(GeneralName.uniformResourceIdentifier, u)));
      dnsNames.forEach(d -> names.add(new GeneralName(GeneralName.dNSName, d)));
      ips.forEach(ip -> names.add(new GeneralName(GeneralName.iPAddress, ip.getHostAddress())));
      if (!names.isEmpty()) {
        // never critical: the subject DN is not empty (RFC 5280 4.2.1.6)
        b.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(names.toArray(GeneralName[]::new)));
      }
      return new JcaX509CertificateConverter().setProvider(Bc.provider()).getCertificate(b.build(Bc.signer(signerKey)));
    } catch (GeneralSecurityException | IOException | OperatorCreationException e) {
      throw new IllegalStateException("cannot build the certificate of " + subject + ": " + e, e);
    }
  }

  private static <T> T requireSet(T value, String what) {
    if (value == null) {
      throw new IllegalStateException("certificate " + what + " not set");
    }
    return value;
  }
}
