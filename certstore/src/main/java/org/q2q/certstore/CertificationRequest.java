package org.q2q.certstore;

import java.security.KeyPair;
import java.security.PublicKey;
import java.util.List;
import org.q2q.certstore.CertificateRequestException.Kind;
import org.q2q.certstore.internal.Bc;

/**
 * A verified PKCS#10 certification request for one q2q address: subject CN and SAN URI both name
 * the address and nothing else is asked for (the fix for Vertex bug #18, where any CSR got signed).
 */
public final class CertificationRequest {
  private final Address address;
  private final PublicKey publicKey;
  private final byte[] der;

  private CertificationRequest(Address address, PublicKey publicKey, byte[] der) {
    this.address = address;
    this.publicKey = publicKey;
    this.der = der;
  }

  /** Makes a request for {@code address} signed with {@code keyPair}; returns its DER form. */
  public static byte[] create(KeyPair keyPair, Address address) {
    return Bc.certificationRequest(keyPair, address.toString(), address.toUri());
  }

  /**
   * Parses and checks a DER request.
   *
   * @throws CertificateRequestException MALFORMED with the reason, for any request that is not
   *     exactly "CN=address, SAN=q2q:address" with a valid self-signature
   */
  public static CertificationRequest parse(byte[] der) throws CertificateRequestException {
    Bc.ParsedRequest p;
    try {
      p = Bc.parseRequest(der);
    } catch (IllegalArgumentException e) {
      throw new CertificateRequestException(Kind.MALFORMED, e.getMessage());
    }
    if (p.commonNames().size() != 1) {
      throw new CertificateRequestException(
          Kind.MALFORMED, "the request's subject must have exactly one CN (the address), it has "
              + p.commonNames().size());
    }
    if (!p.otherSubjectAttributes().isEmpty()) {
      throw new CertificateRequestException(
          Kind.MALFORMED, "the request's subject may hold only CN=address; it also has "
              + String.join(", ", p.otherSubjectAttributes()));
    }
    Address address;
    try {
      address = Address.parse(p.commonNames().get(0));
    } catch (AddressFormatException e) {
      throw new CertificateRequestException(Kind.MALFORMED, "the request's CN is not a q2q address: "
          + e.reason());
    }
    if (address.isDomain()) {
      throw new CertificateRequestException(
          Kind.NOT_PERMITTED, "'" + address + "' is a domain; only user addresses (name@domain) can be registered");
    }
    if (p.otherSanCount() > 0 || !p.sanUris().equals(List.of(address.toUri()))) {
      throw new CertificateRequestException(
          Kind.MALFORMED, "the request's subject alternative names must be exactly " + address.toUri());
    }
    return new CertificationRequest(address, p.publicKey(), der.clone());
  }

  /** The address asked for. */
  public Address address() {
    return address;
  }

  /** The key to certify. */
  public PublicKey publicKey() {
    return publicKey;
  }

  /** The DER encoding. */
  public byte[] der() {
    return der.clone();
  }
}
