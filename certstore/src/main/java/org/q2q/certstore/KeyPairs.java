package org.q2q.certstore;

import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.spec.ECGenParameterSpec;

/** Key pair generation: EC P-256 for every q2q key (CA, server, identity). */
public final class KeyPairs {
  private KeyPairs() {}

  /** A fresh EC P-256 key pair from the JDK's default provider. */
  public static KeyPair generate() {
    try {
      KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
      g.initialize(new ECGenParameterSpec("secp256r1"));
      return g.generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("EC P-256 is not available in this JDK", e);
    }
  }

  /**
   * True if {@code privateKey} is the private half of {@code publicKey}: a random nonce signed with
   * one verifies with the other (catches a key file left from another key pair, review L3).
   */
  public static boolean matches(java.security.PrivateKey privateKey, java.security.PublicKey publicKey) {
    String alg = switch (publicKey.getAlgorithm()) {
      case "EC", "ECDSA" -> "SHA256withECDSA";
      case "Ed25519", "EdDSA" -> "Ed25519";
      case "RSA" -> "SHA256withRSA";
      default -> null;
    };
    if (alg == null) {
      return false;
    }
    try {
      byte[] nonce = new byte[32];
      new java.security.SecureRandom().nextBytes(nonce);
      java.security.Signature sign = java.security.Signature.getInstance(alg);
      sign.initSign(privateKey);
      sign.update(nonce);
      byte[] signature = sign.sign();
      java.security.Signature verify = java.security.Signature.getInstance(alg);
      verify.initVerify(publicKey);
      verify.update(nonce);
      return verify.verify(signature);
    } catch (GeneralSecurityException | RuntimeException e) {
      return false;
    }
  }
}
