package org.q2q.certstore.internal;

import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import org.bouncycastle.asn1.ASN1Encodable;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.x500.RDN;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x500.style.IETFUtils;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.Extensions;
import org.bouncycastle.asn1.x509.ExtensionsGenerator;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.operator.jcajce.JcaContentVerifierProviderBuilder;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.bouncycastle.pkcs.PKCSException;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequest;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;
import org.bouncycastle.asn1.pkcs.Attribute;
import org.bouncycastle.asn1.ASN1Set;

/**
 * Not API. The boundary with Bouncy Castle: CSRs, PEM, Argon2 (certificates: {@link
 * CertificateBuilder}). Everything in and
 * out is a JDK type. Safe for concurrent use.
 */
public final class Bc {
  /**
   * The provider instance, made on first use and never registered globally. Lazy because making it
   * registers every algorithm Bouncy Castle has (a few hundred ms of a client command's start-up)
   * while a send or receive needs none of them: it reads its identity with the JDK's factories.
   */
  public static BouncyCastleProvider provider() {
    return ProviderHolder.PROVIDER;
  }

  private static final class ProviderHolder {
    static final BouncyCastleProvider PROVIDER = new BouncyCastleProvider();
  }

  private static final SecureRandom RANDOM = new SecureRandom();
  /** CertificateFactory instances are not thread-safe: one per thread. */
  private static final ThreadLocal<java.security.cert.CertificateFactory> X509_FACTORY =
      ThreadLocal.withInitial(() -> {
        try {
          return java.security.cert.CertificateFactory.getInstance("X.509");
        } catch (java.security.cert.CertificateException e) {
          throw new IllegalStateException("the JDK has no X.509 certificate factory", e);
        }
      });
  /** Serial numbers are 160-bit random positive integers (RFC 5280 allows up to 20 octets). */
  private static final int SERIAL_BITS = 159;

  private Bc() {}

  /** A fresh random serial number. */
  public static BigInteger newSerial() {
    return new BigInteger(SERIAL_BITS, RANDOM).setBit(SERIAL_BITS - 1);
  }

  /** An X.500 name with CN={@code commonName}. */
  public static X500Name cn(String commonName) {
    return new X500NameBuilder(BCStyle.INSTANCE).addRDN(BCStyle.CN, commonName).build();
  }

  /** The content signer for {@code key}'s algorithm (ECDSA with SHA-256, Ed25519, RSA). */
  static ContentSigner signer(PrivateKey key) throws OperatorCreationException {
    String alg =
        switch (key.getAlgorithm()) {
          case "EC", "ECDSA" -> "SHA256withECDSA";
          case "Ed25519", "EdDSA" -> "Ed25519";
          case "RSA" -> "SHA256withRSA";
          default -> throw new IllegalArgumentException("unsupported key algorithm " + key.getAlgorithm());
        };
    return new JcaContentSignerBuilder(alg).setProvider(provider()).build(key);
  }

  /** A PKCS#10 request, DER, with subject CN={@code cn} and a SAN URI {@code uri}. */
  public static byte[] certificationRequest(KeyPair keyPair, String cn, String uri) {
    try {
      JcaPKCS10CertificationRequestBuilder b =
          new JcaPKCS10CertificationRequestBuilder(cn(cn), keyPair.getPublic());
      ExtensionsGenerator gen = new ExtensionsGenerator();
      gen.addExtension(
          Extension.subjectAlternativeName,
          false,
          new GeneralNames(new GeneralName(GeneralName.uniformResourceIdentifier, uri)));
      b.addAttribute(PKCSObjectIdentifiers.pkcs_9_at_extensionRequest, gen.generate());
      return b.build(signer(keyPair.getPrivate())).getEncoded();
    } catch (IOException | OperatorCreationException e) {
      throw new IllegalStateException("cannot build certification request: " + e, e);
    }
  }

  /**
   * The key types a q2q identity may have (DESIGN, Trust): EC P-256 (named curve) or Ed25519.
   *
   * @throws IllegalArgumentException naming the refused type
   */
  static void checkKeyType(org.bouncycastle.asn1.x509.SubjectPublicKeyInfo spki) {
    org.bouncycastle.asn1.x509.AlgorithmIdentifier alg = spki == null ? null : spki.getAlgorithm();
    if (alg == null) {
      throw new IllegalArgumentException("the certification request has no public key");
    }
    org.bouncycastle.asn1.ASN1ObjectIdentifier oid = alg.getAlgorithm();
    if (oid.equals(org.bouncycastle.asn1.x9.X9ObjectIdentifiers.id_ecPublicKey)
        && org.bouncycastle.asn1.x9.X9ObjectIdentifiers.prime256v1.equals(alg.getParameters())) {
      return;
    }
    if (oid.equals(org.bouncycastle.asn1.edec.EdECObjectIdentifiers.id_Ed25519) && alg.getParameters() == null) {
      return;
    }
    String what = oid.equals(org.bouncycastle.asn1.x9.X9ObjectIdentifiers.id_ecPublicKey)
        ? "EC on " + (alg.getParameters() instanceof org.bouncycastle.asn1.ASN1ObjectIdentifier c
            ? c.getId() : "explicit curve parameters")
        : oid.getId();
    throw new IllegalArgumentException(
        "the certification request's key must be EC P-256 or Ed25519, not " + what);
  }

  /** The parts of a CSR the signer looks at. */
  public record ParsedRequest(List<String> commonNames, List<String> otherSubjectAttributes,
      List<String> sanUris, int otherSanCount, PublicKey publicKey) {}

  /**
   * Parses and verifies a DER PKCS#10 request (its self-signature must verify).
   *
   * @throws IllegalArgumentException with a reason when it is malformed or its signature is bad
   */
  public static ParsedRequest parseRequest(byte[] der) {
    PKCS10CertificationRequest req;
    try {
      req = new PKCS10CertificationRequest(der);
    } catch (IOException | RuntimeException e) {
      throw new IllegalArgumentException("the certification request is not valid PKCS#10 DER");
    }
    // before any key parsing or signature work (an attacker's RSA-16384 key costs CPU to check: L2)
    checkKeyType(req.getSubjectPublicKeyInfo());
    try {
      JcaPKCS10CertificationRequest jreq = new JcaPKCS10CertificationRequest(req).setProvider(provider());
      PublicKey key = jreq.getPublicKey();
      if (!req.isSignatureValid(new JcaContentVerifierProviderBuilder().setProvider(provider()).build(key))) {
        throw new IllegalArgumentException("the certification request's signature does not verify");
      }
      List<String> cns = new ArrayList<>();
      List<String> others = new ArrayList<>();
      for (RDN rdn : req.getSubject().getRDNs()) {
        for (var atv : rdn.getTypesAndValues()) {
          // the string itself: valueToString escapes RFC 4514 specials, so "a+b@x" read "a\\+b@x" (L1)
          String value = atv.getValue() instanceof org.bouncycastle.asn1.ASN1String str
              ? str.getString() : IETFUtils.valueToString(atv.getValue());
          if (atv.getType().equals(BCStyle.CN)) {
            cns.add(value);
          } else {
            others.add(BCStyle.INSTANCE.oidToDisplayName(atv.getType()) + "=" + value);
          }
        }
      }
      List<String> uris = new ArrayList<>();
      int otherSans = 0;
      for (Attribute attr : req.getAttributes(PKCSObjectIdentifiers.pkcs_9_at_extensionRequest)) {
        ASN1Set values = attr.getAttrValues();
        for (ASN1Encodable v : values) {
          Extensions exts = Extensions.getInstance(v);
          GeneralNames gns = GeneralNames.fromExtensions(exts, Extension.subjectAlternativeName);
          if (gns == null) {
            continue;
          }
          for (GeneralName gn : gns.getNames()) {
            if (gn.getTagNo() == GeneralName.uniformResourceIdentifier) {
              uris.add(gn.getName().toString());
            } else {
              otherSans++;
            }
          }
        }
      }
      return new ParsedRequest(cns, others, uris, otherSans, key);
    } catch (GeneralSecurityException | OperatorCreationException | PKCSException e) {
      throw new IllegalArgumentException("the certification request cannot be verified: " + e.getMessage());
    } catch (IllegalArgumentException e) {
      throw e;
    } catch (RuntimeException e) {
      throw new IllegalArgumentException("the certification request is malformed: " + e.getMessage());
    }
  }

  /** PEM text of a certificate, key or other object JcaPEMWriter understands. */
  public static String toPem(Object o) {
    StringWriter sw = new StringWriter();
    try (JcaPEMWriter w = new JcaPEMWriter(sw)) {
      w.writeObject(o instanceof PrivateKey k ? new org.bouncycastle.openssl.jcajce.JcaPKCS8Generator(k, null) : o);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return sw.toString();
  }

  /** Reads every certificate in a PEM text, in order. */
  public static List<X509Certificate> certificatesFromPem(String pem) throws IOException {
    List<X509Certificate> out = new ArrayList<>();
    try (PEMParser p = new PEMParser(new StringReader(pem))) {
      Object o;
      while ((o = p.readObject()) != null) {
        if (o instanceof X509CertificateHolder h) {
          try {
            out.add((X509Certificate) X509_FACTORY.get().generateCertificate(
                new java.io.ByteArrayInputStream(h.getEncoded())));
          } catch (GeneralSecurityException e) {
            throw new IOException("bad certificate in PEM: " + e.getMessage(), e);
          }
        }
      }
    }
    return out;
  }

  /** Reads a private key (PKCS#8 or traditional EC) from PEM and returns it with its public key. */
  public static KeyPair keyPairFromPem(String pem, PublicKey publicKeyIfKnown) throws IOException {
    try (PEMParser p = new PEMParser(new StringReader(pem))) {
      Object o = p.readObject();
      if (o instanceof PEMKeyPair kp) {
        return new JcaPEMKeyConverter().setProvider(provider()).getKeyPair(kp);
      }
      if (o instanceof org.bouncycastle.asn1.pkcs.PrivateKeyInfo info) {
        String jdkAlgorithm = jdkKeyAlgorithm(info);
        if (publicKeyIfKnown != null && jdkAlgorithm != null) {
          try {
            PrivateKey priv = java.security.KeyFactory.getInstance(jdkAlgorithm)
                .generatePrivate(new java.security.spec.PKCS8EncodedKeySpec(info.getEncoded()));
            return new KeyPair(publicKeyIfKnown, priv);
          } catch (GeneralSecurityException e) {
            throw new IOException("bad private key in PEM: " + e.getMessage(), e);
          }
        }
        PrivateKey priv = new JcaPEMKeyConverter().setProvider(provider()).getPrivateKey(info);
        PublicKey pub = publicKeyIfKnown != null ? publicKeyIfKnown : derivePublic(priv);
        return new KeyPair(pub, priv);
      }
      throw new IOException("no private key in PEM");
    }
  }

  /** The JDK's name for the key algorithm of {@code info}, or null when the JDK has none here. */
  private static String jdkKeyAlgorithm(org.bouncycastle.asn1.pkcs.PrivateKeyInfo info) {
    var oid = info.getPrivateKeyAlgorithm().getAlgorithm();
    if (oid.equals(org.bouncycastle.asn1.x9.X9ObjectIdentifiers.id_ecPublicKey)) {
      return "EC";
    }
    if (oid.equals(org.bouncycastle.asn1.edec.EdECObjectIdentifiers.id_Ed25519)) {
      return "Ed25519";
    }
    if (oid.equals(PKCSObjectIdentifiers.rsaEncryption)) {
      return "RSA";
    }
    return null;
  }

  private static PublicKey derivePublic(PrivateKey priv) throws IOException {
    if (priv instanceof org.bouncycastle.jce.interfaces.ECPrivateKey ec) {
      try {
        var spec = ec.getParameters();
        var q = spec.getG().multiply(ec.getD()).normalize();
        var pubSpec = new org.bouncycastle.jce.spec.ECPublicKeySpec(q, spec);
        return java.security.KeyFactory.getInstance("EC", provider()).generatePublic(pubSpec);
      } catch (GeneralSecurityException e) {
        throw new IOException("cannot derive public key: " + e.getMessage(), e);
      }
    }
    throw new IOException("cannot derive the public key of a " + priv.getAlgorithm() + " key");
  }

  /** Argon2id (version 0x13) of {@code password}; memory in KiB. */
  public static byte[] argon2id(byte[] password, byte[] salt, int memoryKib, int iterations, int parallelism, int length) {
    org.bouncycastle.crypto.params.Argon2Parameters params =
        new org.bouncycastle.crypto.params.Argon2Parameters.Builder(
                org.bouncycastle.crypto.params.Argon2Parameters.ARGON2_id)
            .withVersion(org.bouncycastle.crypto.params.Argon2Parameters.ARGON2_VERSION_13)
            .withMemoryAsKB(memoryKib)
            .withIterations(iterations)
            .withParallelism(parallelism)
            .withSalt(salt)
            .build();
    org.bouncycastle.crypto.generators.Argon2BytesGenerator gen =
        new org.bouncycastle.crypto.generators.Argon2BytesGenerator();
    gen.init(params);
    byte[] out = new byte[length];
    gen.generateBytes(password, out);
    return out;
  }
}
