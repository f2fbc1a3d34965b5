package org.q2q.client.files;

import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * Aborts a transfer that made no progress for its idle timeout: blocking channel reads and writes
 * have no deadline of their own, so a peer that stops sending (or stops reading) would otherwise
 * pin a thread, a file and a channel for ever. Progress is any byte read or written ({@link
 * #touch}). One shared daemon thread checks every watched transfer a few times per timeout.
 */
final class IdleWatchdog implements AutoCloseable {
  private static final ScheduledExecutorService TIMER = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread t = new Thread(r, "q2q-file-idle-watchdog");
    t.setDaemon(true);
    return t;
  });

  private final LongSupplier nanoTime;
  private final long timeoutNanos;
  private final Runnable onIdle;
  private volatile long lastProgress;
  private volatile boolean fired;
  private final ScheduledFuture<?> check;

  /** Starts watching: {@code onIdle} runs once (on the watchdog thread) after {@code timeout} without progress. */
  IdleWatchdog(Duration timeout, LongSupplier nanoTime, Runnable onIdle) {
    this.nanoTime = nanoTime;
    this.timeoutNanos = timeout.toNanos();
    this.onIdle = onIdle;
    this.lastProgress = nanoTime.getAsLong();
    long period = Math.max(TimeUnit.MILLISECONDS.toNanos(20), Math.min(timeoutNanos / 4, TimeUnit.SECONDS.toNanos(1)));
    this.check = TIMER.scheduleWithFixedDelay(this::check, period, period, TimeUnit.NANOSECONDS);
  }

  /** "no progress for 60 s", for messages. */
  static String describe(Duration timeout) {
    return "no progress for " + (timeout.toMillis() % 1000 == 0 ? timeout.toSeconds() + " s" : timeout.toMillis() + " ms");
  }

  /** Records progress. Cheap: called for every read and write. */
  void touch() {
    lastProgress = nanoTime.getAsLong();
  }

  /** True once the timeout fired. */
  boolean fired() {
    return fired;
  }

  void check() {
    if (!fired && nanoTime.getAsLong() - lastProgress >= timeoutNanos) {
      fired = true;
      check.cancel(false);
      onIdle.run();
    }
  }

  @Override
  public void close() {
    check.cancel(false);
  }
}
