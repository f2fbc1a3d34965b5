package org.q2q.server.internal.registration;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;
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
 * Safe for concurrent use.
 */
public final class SignGate implements AutoCloseable {
  private final ExecutorService executor;
  private final Semaphore room;
  private final TokenBuckets attempts;
  private final TokenBuckets creations;
  private final FailureLimiter byAddressAndNetwork;
  private final FailureLimiter byNetwork;
  private final FailureLimiter byAddress;
  private final ServerMetrics metrics;

  /** @param metrics counts the refusals */
  public SignGate(RegistrationLimits limits, Clock clock, ServerMetrics metrics) {
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
    this.creations = new TokenBuckets(limits.creationBurst(), limits.creationsPerHour() / 3600, clock, 100_000);
    Duration w = limits.failureWindow();
    this.byAddressAndNetwork = new FailureLimiter(limits.maxFailures(), w, clock, 100_000);
    this.byNetwork = new FailureLimiter(limits.maxFailures(), w, clock, 100_000);
    this.byAddress = new FailureLimiter(limits.maxFailuresPerAddress(), w, clock, 100_000);
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
    private final String pair;
    private final String network;
    private final String address;

    private Attempt(String pair, String network, String address) {
      this.pair = pair;
      this.network = network;
      this.address = address;
    }

    /** The password was right (or the account new): the attempt does not count. */
    public void succeeded() {
      byAddressAndNetwork.refund(pair);
      byNetwork.refund(network);
      byAddress.refund(address);
    }
  }

  /**
   * Counts a password attempt for {@code address} from {@code network} before it is checked.
   *
   * @throws StatusRuntimeException RESOURCE_EXHAUSTED "try again in N s" if one of the limits is
   *     reached (nothing counted then)
   */
  public Attempt reserve(Address address, String network) {
    String pair = address + " from " + network;
    String a = address.toString();
    // one lock order for the three, so that a refusal can refund what was taken
    synchronized (this) {
      Optional<Duration> blocked = byAddressAndNetwork.tryReserve(pair);
      if (blocked.isPresent()) {
        throw tooMany("for " + address, blocked.get());
      }
      blocked = byNetwork.tryReserve(network);
      if (blocked.isPresent()) {
        byAddressAndNetwork.refund(pair);
        throw tooMany("from " + network, blocked.get());
      }
      blocked = byAddress.tryReserve(a);
      if (blocked.isPresent()) {
        byAddressAndNetwork.refund(pair);
        byNetwork.refund(network);
        throw tooMany("for " + address, blocked.get());
      }
    }
    return new Attempt(pair, network, a);
  }

  /**
   * Takes an account-creation token of {@code network}.
   *
   * @throws StatusRuntimeException RESOURCE_EXHAUSTED if it has none now
   */
  public void requireCreation(String network) {
    if (!creations.tryTake(network)) {
      metrics.refused(Refusal.ACCOUNT_CREATION_RATE);
      throw Status.RESOURCE_EXHAUSTED
          .withDescription("too many accounts were created from " + network + "; try again in "
              + Math.max(1, creations.secondsUntilToken(network)) + " s")
          .asRuntimeException();
    }
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
