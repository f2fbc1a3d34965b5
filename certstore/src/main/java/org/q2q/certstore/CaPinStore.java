package org.q2q.certstore;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Optional;

/**
 * The domain CAs this client trusts, pinned on first use like SSH's {@code known_hosts}: one file
 * {@code <domain>.crt} per domain. A pinned domain whose CA changes is a hard error naming both
 * fingerprints. Safe for concurrent use within one process.
 */
public final class CaPinStore implements CaPins {
  private final Path dir;

  /** A store in {@code dir} (created on first write, mode 0700). */
  public CaPinStore(Path dir) {
    this.dir = dir;
  }

  /** The pinned CA of {@code domain}, if any. */
  @Override
  public synchronized Optional<X509Certificate> get(String domain) throws IOException {
    Path f = file(domain);
    return Files.exists(f) ? Optional.of(Certificates.readPem(f).get(0)) : Optional.empty();
  }

  /**
   * Checks {@code ca} against the pin for {@code domain}, pinning it if there is none yet (trust
   * on first use) or if {@code expected} matches.
   *
   * @param expected a fingerprint the user gave out of band, or null for trust on first use
   * @return true if the CA was newly pinned
   * @throws CaMismatchException if a different CA is pinned, or {@code expected} does not match
   * @throws java.security.cert.CertificateException if {@code ca} is not a self-signed CA for the domain
   */
  @Override
  public synchronized boolean verifyOrPin(String domain, X509Certificate ca, Fingerprint expected)
      throws IOException, CaMismatchException, java.security.cert.CertificateException {
    CaPins.checkIsCaFor(domain, ca);
    Fingerprint actual = Fingerprint.of(ca);
    if (expected != null && !expected.equals(actual)) {
      throw new CaMismatchException(domain, expected, actual, false);
    }
    Optional<X509Certificate> pinned = get(domain);
    if (pinned.isPresent()) {
      if (!pinned.get().equals(ca)) {
        throw new CaMismatchException(domain, Fingerprint.of(pinned.get()), actual, true);
      }
      return false;
    }
    SecureFiles.writePublic(file(domain), Certificates.toPem(List.of(ca)));
    return true;
  }

  /**
   * Every pinned CA by domain, sorted (the domain as the CA certificate names it; an unreadable
   * file is skipped).
   */
  @Override
  public synchronized java.util.SortedMap<String, X509Certificate> all() throws IOException {
    java.util.SortedMap<String, X509Certificate> out = new java.util.TreeMap<>();
    if (!Files.isDirectory(dir)) {
      return out;
    }
    try (java.util.stream.Stream<Path> files = Files.list(dir)) {
      for (Path f : (Iterable<Path>) files.filter(p -> p.getFileName().toString().endsWith(".crt"))::iterator) {
        try {
          X509Certificate ca = Certificates.readPem(f).get(0);
          Certificates.addressOf(ca).filter(Address::isDomain).ifPresent(d -> out.put(d.domain(), ca));
        } catch (IOException | RuntimeException e) {
          // not a pin this store wrote; leave it alone
        }
      }
    }
    return out;
  }

  /**
   * Removes the pin of {@code domain}: the next contact learns its CA again (on first use).
   *
   * @return false if none was pinned
   */
  @Override
  public synchronized boolean forget(String domain) throws IOException {
    return Files.deleteIfExists(file(domain));
  }

  private Path file(String domain) {
    // domains are validated lower-case host names or IP literals; brackets/colons are made safe
    Address d = Address.ofDomain(domain);
    return dir.resolve(d.domain().replace(':', '_').replace('[', '_').replace(']', '_') + ".crt");
  }
}
