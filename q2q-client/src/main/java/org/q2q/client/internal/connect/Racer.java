package org.q2q.client.internal.connect;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Races connection plans, Happy-Eyeballs style (RFC 8305; DESIGN.md "Getting connected").
 *
 * <ul>
 *   <li>Each plan starts at its own delay (its method's soft timeout), or at once when nothing
 *       else is in flight any more.
 *   <li>The first plan whose attempt completes (TLS verified the right peer) wins; the others are
 *       cancelled, and a loser that still completes later is discarded (closed).
 *   <li>If every plan fails, or the hard timeout passes first, the race fails with one
 *       {@link RaceFailedException} listing each method's failure (also attached as suppressed).
 * </ul>
 *
 * Safe for concurrent use; the callbacks may arrive on any thread.
 *
 * @param <S> what a winning attempt yields
 */
public final class Racer<S> {
  private static final Logger log = LoggerFactory.getLogger(Racer.class);

  /** Schedules delayed work (an event loop in production, a manual queue in tests). */
  @FunctionalInterface
  public interface Scheduler {
    /** Runs {@code task} after {@code delayMillis}; the result cancels it. */
    Runnable schedule(Runnable task, long delayMillis);
  }

  /** What the race reports as it goes. */
  public interface Events {
    default void started(String method) {}

    default void failed(String method, Throwable cause) {}

    default void won(String method) {}
  }

  /** A plan and the delay after the race's start at which it may begin. */
  public record Entry<S>(ConnectPlan<S> plan, long delayMillis) {}

  /** The winner and the method that carried it. */
  public record Winner<S>(S value, String method) {}

  private final List<Entry<S>> entries;
  private final List<String> skipped;
  private final long hardTimeoutMillis;
  private final Scheduler scheduler;
  private final Events events;
  private final Consumer<S> discard;
  private final CompletableFuture<Winner<S>> result = new CompletableFuture<>();

  // Guarded by this.
  private final boolean[] started;
  private final boolean[] finished;
  private final List<Throwable> failures = new ArrayList<>();
  private final List<Runnable> timers = new ArrayList<>();
  private int inFlight;
  private boolean done;

  /**
   * @param entries the plans, in order of preference
   * @param skipped methods not tried at all and why (e.g. "tcp 1.2.3.4:80: not supported yet"),
   *     reported in the failure message
   * @param discard closes a late winner's value
   */
  public Racer(List<Entry<S>> entries, List<String> skipped, long hardTimeoutMillis, Scheduler scheduler,
      Events events, Consumer<S> discard) {
    this.entries = List.copyOf(entries);
    this.skipped = List.copyOf(skipped);
    this.hardTimeoutMillis = hardTimeoutMillis;
    this.scheduler = scheduler;
    this.events = events;
    this.discard = discard;
    this.started = new boolean[entries.size()];
    this.finished = new boolean[entries.size()];
  }

  /** Starts the race; the future completes with the first winner or fails with every failure. */
  public CompletableFuture<Winner<S>> run() {
    synchronized (this) {
      if (entries.isEmpty()) {
        finish(null);
        return result;
      }
      timers.add(scheduler.schedule(this::hardTimeout, hardTimeoutMillis));
      long first = entries.stream().mapToLong(Entry::delayMillis).min().orElse(0);
      for (int i = 0; i < entries.size(); i++) {
        int idx = i;
        long delay = entries.get(i).delayMillis() - first;
        if (delay <= 0) {
          start(idx);
        } else {
          timers.add(scheduler.schedule(() -> {
            synchronized (this) {
              start(idx);
            }
          }, delay));
        }
      }
    }
    return result;
  }

  // Holds this.
  private void start(int idx) {
    if (done || started[idx]) {
      return;
    }
    started[idx] = true;
    inFlight++;
    ConnectPlan<S> plan = entries.get(idx).plan();
    events.started(plan.method());
    log.debug("attempt {} started", plan.method());
    CompletableFuture<S> f;
    try {
      f = plan.attempt();
    } catch (RuntimeException e) {
      f = CompletableFuture.failedFuture(e);
    }
    f.whenComplete((s, e) -> completed(idx, s, e));
  }

  private void completed(int idx, S value, Throwable error) {
    ConnectPlan<S> plan = entries.get(idx).plan();
    List<ConnectPlan<S>> losers = new ArrayList<>();
    boolean discardIt = false;
    synchronized (this) {
      finished[idx] = true;
      inFlight--;
      if (error == null) {
        if (done) {
          discardIt = true;
        } else {
          done = true;
          for (int i = 0; i < entries.size(); i++) {
            if (i != idx && started[i] && !finished[i]) {
              losers.add(entries.get(i).plan());
            }
          }
          timers.forEach(Runnable::run);
          events.won(plan.method());
          log.debug("attempt {} won", plan.method());
          result.complete(new Winner<>(value, plan.method()));
        }
      } else {
        Throwable cause = unwrap(error);
        events.failed(plan.method(), cause);
        failures.add(new RaceFailedException.MethodFailure(plan.method(), cause));
        log.debug("attempt {} failed: {}", plan.method(), cause.toString());
        if (!done) {
          boolean allDone = true;
          for (int i = 0; i < entries.size(); i++) {
            allDone &= finished[i];
          }
          if (allDone) {
            finish(null);
          } else if (inFlight == 0) {
            for (int i = 0; i < entries.size(); i++) {
              if (!started[i]) {
                start(i); // nothing in flight: do not wait for the soft timeout
                break;
              }
            }
          }
        }
      }
    }
    if (discardIt) {
      discard.accept(value);
    }
    losers.forEach(ConnectPlan::cancel);
  }

  private void hardTimeout() {
    List<ConnectPlan<S>> running = new ArrayList<>();
    synchronized (this) {
      if (done) {
        return;
      }
      for (int i = 0; i < entries.size(); i++) {
        if (started[i] && !finished[i]) {
          running.add(entries.get(i).plan());
          failures.add(new RaceFailedException.MethodFailure(entries.get(i).plan().method(),
              new java.util.concurrent.TimeoutException("did not finish within " + hardTimeoutMillis + " ms")));
        } else if (!started[i]) {
          failures.add(new RaceFailedException.MethodFailure(entries.get(i).plan().method(),
              new java.util.concurrent.TimeoutException("never started before the timeout")));
        }
      }
      finish("timed out after " + hardTimeoutMillis + " ms");
    }
    running.forEach(ConnectPlan::cancel);
  }

  // Holds this.
  private void finish(String timeout) {
    done = true;
    timers.forEach(Runnable::run);
    result.completeExceptionally(new RaceFailedException(timeout, failures, skipped));
  }

  static Throwable unwrap(Throwable t) {
    while ((t instanceof java.util.concurrent.CompletionException
        || t instanceof java.util.concurrent.ExecutionException) && t.getCause() != null) {
      t = t.getCause();
    }
    return t;
  }
}
