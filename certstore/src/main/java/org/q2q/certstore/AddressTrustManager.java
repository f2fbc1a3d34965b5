package org.q2q.certstore;

import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * A TLS trust manager for q2q peers: a chain is trusted when it validates against the CA of the
 * domain its leaf names (looked up in a {@link CaResolver}) and the address passes an
 * {@link AddressCheck}. Host names are not checked: q2q peers are named by address, not by DNS.
 * Safe for concurrent use.
 */
public final class AddressTrustManager extends ChainTrustManager {
  /** Finds the trusted CA of a domain. */
  @FunctionalInterface
  public interface CaResolver {
    /** The CA of {@code domain}, or empty if this side does not know (trust) it. */
    Optional<X509Certificate> caFor(String domain) throws CertificateException;
  }

  /** Decides whether a validated address is the one wanted on this connection. */
  @FunctionalInterface
  public interface AddressCheck {
    /**
     * @throws CertificateException saying why {@code address} is not acceptable
     */
    void check(Address address) throws CertificateException;

    /** Accepts any validated address. */
    static AddressCheck any() {
      return a -> {};
    }

    /** Accepts exactly {@code expected}. */
    static AddressCheck exactly(Address expected) {
      return a -> {
        if (!a.equals(expected)) {
          throw new CertificateException("expected a certificate for " + expected + " but the peer is " + a);
        }
      };
    }
  }

  private final CaResolver cas;
  private final AddressCheck check;
  private final Clock clock;

  public AddressTrustManager(CaResolver cas, AddressCheck check, Clock clock) {
    this.cas = cas;
    this.check = check;
    this.clock = clock;
  }

  /**
   * Validates {@code chain} and returns its leaf's address.
   *
   * @throws CertificateException saying why it is not trusted
   */
  public Address verify(X509Certificate[] chain) throws CertificateException {
    if (chain == null || chain.length == 0) {
      throw new CertificateException("the peer presented no certificate");
    }
    Address claimed =
        Certificates.addressOf(chain[0])
            .orElseThrow(() -> new CertificateException("the peer's certificate names no q2q address"));
    X509Certificate ca =
        cas.caFor(claimed.domain())
            .orElseThrow(() -> new CertificateException("no trusted CA known for domain " + claimed.domain()));
    Address address = ChainValidator.validate(List.of(chain), ca, clock.instant());
    check.check(address);
    return address;
  }

  @Override
  protected void checkChain(X509Certificate[] chain, boolean clientChain) throws CertificateException {
    verify(chain);
  }

  @Override
  public String toString() {
    return "AddressTrustManager" + Arrays.toString(new Object[] {check});
  }
}
