package org.q2q.server;

import java.time.Duration;
import java.util.Objects;

/**
 * How much Sign (registration) work the server takes on, so that a flood of Sign calls, refused or
 * not, cannot slow the other services: Argon2 runs on its own executor of {@code threads} with
 * {@code queue} waiting calls, and a call that finds no room is refused at once with
 * RESOURCE_EXHAUSTED, before its CSR is parsed or any password hashed.
 *
 * @param threads threads that check passwords and sign (Argon2 takes a core and 19 MiB each)
 * @param queue Sign calls that may wait for a thread; more are refused at once
 * @param attemptBurst Sign calls one client network (IPv4 address, IPv6 /64) may make at once
 * @param attemptsPerMinute ... and then per minute
 * @param creationBurst accounts one client network may create at once (open registration)
 * @param creationsPerHour ... and then per hour
 * @param maxFailures failed passwords per (address, client network) and per client network in
 *     {@code failureWindow}; past that, attempts are refused until the oldest failure ages out
 * @param maxFailuresPerAddress failed passwords for one address from all networks together in the
 *     window (a soft global limit against spraying from many networks)
 * @param failureWindow the window of the failure counts
 */
public record RegistrationLimits(
    int threads,
    int queue,
    int attemptBurst,
    double attemptsPerMinute,
    int creationBurst,
    double creationsPerHour,
    int maxFailures,
    int maxFailuresPerAddress,
    Duration failureWindow) {

  public RegistrationLimits {
    if (threads < 1 || queue < 0 || attemptBurst < 1 || attemptsPerMinute <= 0 || creationBurst < 1
        || creationsPerHour <= 0 || maxFailures < 1 || maxFailuresPerAddress < 1) {
      throw new IllegalArgumentException("bad registration limits: " + threads + " threads, queue " + queue
          + ", attempts " + attemptBurst + " + " + attemptsPerMinute + "/min, creations " + creationBurst + " + "
          + creationsPerHour + "/h, failures " + maxFailures + " / " + maxFailuresPerAddress);
    }
    Objects.requireNonNull(failureWindow, "failureWindow");
    if (failureWindow.isNegative() || failureWindow.isZero()) {
      throw new IllegalArgumentException("failureWindow must be positive: " + failureWindow);
    }
  }

  /**
   * max(1, cores / 2) threads and a queue of 16; per client network 10 Sign calls then 12 a minute,
   * 5 new accounts then 12 an hour; 5 failed passwords a minute per (address, network) and per
   * network, 50 a minute per address.
   */
  public static RegistrationLimits defaults() {
    return new RegistrationLimits(Math.max(1, Runtime.getRuntime().availableProcessors() / 2), 16,
        10, 12, 5, 12, 5, 50, Duration.ofMinutes(1));
  }

  /** A copy with other per-network rates. */
  public RegistrationLimits withRates(int attemptBurst, double attemptsPerMinute, int creationBurst,
      double creationsPerHour) {
    return new RegistrationLimits(threads, queue, attemptBurst, attemptsPerMinute, creationBurst, creationsPerHour,
        maxFailures, maxFailuresPerAddress, failureWindow);
  }

  /** A copy with another executor size. */
  public RegistrationLimits withExecutor(int threads, int queue) {
    return new RegistrationLimits(threads, queue, attemptBurst, attemptsPerMinute, creationBurst, creationsPerHour,
        maxFailures, maxFailuresPerAddress, failureWindow);
  }

  /** A copy with other failure limits. */
  public RegistrationLimits withFailures(int maxFailures, int maxFailuresPerAddress, Duration window) {
    return new RegistrationLimits(threads, queue, attemptBurst, attemptsPerMinute, creationBurst, creationsPerHour,
        maxFailures, maxFailuresPerAddress, window);
  }
}
