package org.q2q.server;

import java.io.IOException;
import java.math.BigInteger;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The serials of this domain's certificates that the server no longer honours, kept in memory from
 * the {@link AccountStore}'s {@code revocations} table, so that checking a caller costs a set
 * lookup.
 *
 * <p>It follows the database two ways: revocations made through the same {@link AccountStore}
 * (Sign with "revoke my other devices") reach it at once; those of another process (the
 * administrator's {@code q2q server revoke}) or another node sharing the PostgreSQL database when
 * {@link #refresh()} runs, which the server does every couple of seconds: it reloads when the
 * revocation counter ({@link AccountStore#dataVersion()}) has moved. Listeners ({@link #onChange}) then drop the streams of
 * revoked certificates. Safe for concurrent use.
 */
public final class Revocations {
  private static final Logger log = LoggerFactory.getLogger(Revocations.class);

  private final AccountStore store;
  private final List<Runnable> listeners = new CopyOnWriteArrayList<>();
  private volatile Set<BigInteger> revoked;
  private long seenVersion; // guarded by this

  private Revocations(AccountStore store) {
    this.store = store;
  }

  /** The revocation list of {@code store}, loaded now and kept current. */
  public static Revocations of(AccountStore store) throws IOException {
    Revocations r = new Revocations(store);
    r.reload();
    store.onRevocation(() -> {
      try {
        r.reload();
      } catch (IOException e) {
        log.error("cannot reload the revocation list after a revocation: {}", e.getMessage());
      }
    });
    return r;
  }

  /** True if {@code certificate}'s serial is revoked (the caller checks it is of this domain's CA). */
  public boolean isRevoked(X509Certificate certificate) {
    return isRevoked(certificate.getSerialNumber());
  }

  /** True if the certificate of this domain with {@code serial} is revoked. */
  public boolean isRevoked(BigInteger serial) {
    return revoked.contains(serial);
  }

  /** How many serials are revoked. */
  public int size() {
    return revoked.size();
  }

  /** Runs {@code listener} after every change of the list (on the thread that noticed it). */
  public void onChange(Runnable listener) {
    listeners.add(listener);
  }

  /**
   * Reloads the list if another process changed the database since the last look.
   *
   * @return true if it was reloaded
   */
  public boolean refresh() throws IOException {
    synchronized (this) {
      if (store.dataVersion() == seenVersion) {
        return false;
      }
    }
    reload();
    return true;
  }

  private void reload() throws IOException {
    int before;
    int after;
    synchronized (this) {
      seenVersion = store.dataVersion();
      before = revoked == null ? 0 : revoked.size();
      revoked = Set.copyOf(store.revokedSerials());
      after = revoked.size();
    }
    if (after != before) {
      log.info("revocation list: {} revoked certificate(s)", after);
      for (Runnable l : listeners) {
        try {
          l.run();
        } catch (RuntimeException e) {
          log.warn("a revocation listener failed", e);
        }
      }
    }
  }
}
