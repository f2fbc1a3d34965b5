package org.q2q.server.internal.registration;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.q2q.certstore.Address;
import org.q2q.server.RegistrationLimits;
import org.q2q.server.internal.limits.TokenBuckets;
import org.q2q.server.internal.metrics.ServerMetrics;
import org.q2q.server.internal.metrics.ServerMetrics.Refusal;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Admission of Sign attempts: who may try now, and where the work runs.
 *
 * <ul>
 *   <li>{@link #submit}: a token of the caller's network and a place on the registration executor
 *       ({@code threads} + {@code queue}), else RESOURCE_EXHAUSTED at once. This runs before the
 *       request's CSR is parsed, so a refusal costs a map lookup, and the gRPC threads serving
 *       Listen, Inbound and the relay never wait for Argon2 (H1);
 *   <li>{@link #reserve}: one failure counted in advance per (address, network), per network and
 *       per address before a password is hashed, refunded on success (M3);
 *   <li>{@link #requireCreation}: a token of the network's account-creation bucket.
 * </ul>
 * The failure counts and the creation buckets are {@link DomainRateLimits} in the database, so
 * they hold for every node of the domain; the attempt bucket and the executor bound this node's
 * work and stay in memory.
 * Safe for concurrent use.
 */
public final class SignGate implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(SignGate.class);
  private final ExecutorService executor;
  private final Semaphore room;
  private final TokenBuckets attempts;
  private final DomainRateLimits shared;
  private final RegistrationLimits limits;
  private final ServerMetrics metrics;

  /**
   * @param shared the domain-wide counts (failed passwords, account creations) in the database
   * @param metrics counts the refusals
   */
  public SignGate(RegistrationLimits limits, Clock clock, DomainRateLimits shared, ServerMetrics metrics) {
    this.metrics = metrics;
    AtomicInteger n = new AtomicInteger();
    ThreadPoolExecutor e = new ThreadPoolExecutor(limits.threads(), limits.threads(), 60, TimeUnit.SECONDS,
        new LinkedBlockingQueue<>(), r -> {
          Thread t = new Thread(r, "q2q-registration-" + n.incrementAndGet());
          t.setDaemon(true);
          return t;
        });
    e.allowCoreThreadTimeOut(true);
    this.executor = e;
    this.room = new Semaphore(limits.threads() + limits.queue()); // bounds the executor's queue too
    this.attempts = new TokenBuckets(limits.attemptBurst(), limits.attemptsPerMinute() / 60, clock, 100_000);
    this.shared = shared;
    this.limits = limits;
  }

  /**
   * Runs {@code work} on the registration executor if {@code network} may try now and there is
   * room.
   *
   * @throws StatusRuntimeException RESOURCE_EXHAUSTED (nothing run) otherwise
   */
  public void submit(String network, Runnable work) {
    if (!attempts.tryTake(network)) {
      metrics.refused(Refusal.SIGN_RATE);
      throw Status.RESOURCE_EXHAUSTED
          .withDescription("too many registration attempts from " + network + "; try again in "
              + Math.max(1, attempts.secondsUntilToken(network)) + " s")
          .asRuntimeException();
    }
    if (!room.tryAcquire()) {
      metrics.refused(Refusal.SIGN_BUSY);
      throw Status.RESOURCE_EXHAUSTED
          .withDescription("the server is busy checking passwords; try again in a few seconds")
          .asRuntimeException();
    }
    try {
      executor.execute(() -> {
        try {
          work.run();
        } finally {
          room.release();
        }
      });
    } catch (RuntimeException e) { // shut down
      room.release();
      throw Status.UNAVAILABLE.withDescription("the server is shutting down").asRuntimeException();
    }
  }

  /** A password attempt counted as failed until {@link #succeeded}. */
  public final class Attempt {
    private final DomainRateLimits.Reservation reservation;

    private Attempt(DomainRateLimits.Reservation reservation) {
      this.reservation = reservation;
    }

    /** The password was right (or the account new): the attempt does not count. */
    public void succeeded() {
      try {
        shared.refund(reservation);
      } catch (SQLException e) {
        throw storageFailure("refund a password attempt", e);
      }
    }
  }

  /**
   * Counts a password attempt for {@code address} from {@code network} before it is checked: per
   * (address, network), per network and per address, all or nothing.
   *
   * @throws StatusRuntimeException RESOURCE_EXHAUSTED "try again in N s" if one of the limits is
   *     reached (nothing counted then)
   */
  public Attempt reserve(Address address, String network) {
    Duration w = limits.failureWindow();
    DomainRateLimits.Window pair =
        new DomainRateLimits.Window("pair " + address + " from " + network, limits.maxFailures(), w);
    DomainRateLimits.Window net = new DomainRateLimits.Window("network " + network, limits.maxFailures(), w);
    DomainRateLimits.Window addr =
        new DomainRateLimits.Window("address " + address, limits.maxFailuresPerAddress(), w);
    DomainRateLimits.Result r;
    try {
      r = shared.tryReserve(List.of(pair, net, addr));
    } catch (SQLException e) {
      throw storageFailure("count a password attempt", e);
    }
    if (r.blocked() != null) {
      throw tooMany(r.blocked().window().equals(net) ? "from " + network : "for " + address, r.blocked().remaining());
    }
    return new Attempt(r.reservation());
  }

  /**
   * Takes an account-creation token of {@code network}.
   *
   * @throws StatusRuntimeException RESOURCE_EXHAUSTED if it has none now
   */
  public void requireCreation(String network) {
    long wait;
    try {
      wait = shared.tryTake("creations", network, limits.creationBurst(), limits.creationsPerHour() / 3600);
    } catch (SQLException e) {
      throw storageFailure("count an account creation", e);
    }
    if (wait > 0) {
      metrics.refused(Refusal.ACCOUNT_CREATION_RATE);
      throw Status.RESOURCE_EXHAUSTED
          .withDescription("too many accounts were created from " + network + "; try again in " + wait + " s")
          .asRuntimeException();
    }
  }

  private static StatusRuntimeException storageFailure(String what, SQLException e) {
    log.error("cannot {} in the database: {}", what, e.toString());
    return Status.UNAVAILABLE
        .withDescription("the server cannot reach its account database; try again later")
        .asRuntimeException();
  }

  private StatusRuntimeException tooMany(String what, Duration blocked) {
    metrics.refused(Refusal.PASSWORD_FAILURES);
    long seconds = Math.max(1, (blocked.toMillis() + 999) / 1000);
    return Status.RESOURCE_EXHAUSTED
        .withDescription("too many failed password attempts " + what + "; try again in " + seconds + " s")
        .asRuntimeException();
  }

  /** Threads of the registration executor alive now (tests of the bound). */
  public int threadsAlive() {
    return ((ThreadPoolExecutor) executor).getPoolSize();
  }

  /** Takes no more work; what was admitted still runs (the server's shutdown grace bounds it). */
  @Override
  public void close() {
    executor.shutdown();
  }
}
