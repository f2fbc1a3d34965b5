package org.q2q.client.internal.connect;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import org.q2q.client.Route;
import org.q2q.client.internal.Futures;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Races connection plans, Happy-Eyeballs style (RFC 8305; DESIGN.md "Getting connected").
 *
 * <ul>
 *   <li>Each plan starts at its own delay, or at once when nothing else is in flight any more.
 *   <li>While an attempt has reached its peer and is securing (TCP connected, a hole punched), plans
 *       due to start wait (RFC 8305: no new attempt while one has connected), and start at once if
 *       it fails, or after {@link #HOLD_LIMIT_MILLIS} at most, so a host that accepts and then says
 *       nothing cannot hold the race up for long.
 *   <li>The first plan whose attempt completes (TLS verified the right peer) wins; the others are
 *       cancelled (reported as lost to the winner), and a loser that still completes later is
 *       discarded (closed).
 *   <li>If every plan fails, or the hard timeout passes first, the race fails with one
 *       {@link RaceFailedException} listing each method's failure (also attached as suppressed).
 * </ul>
 *
 * <p>State changes happen under this object's lock; everything that calls out (a plan's attempt
 * or cancel, the events, completing the result) runs after the lock is released, so no caller's
 * code ever runs under it. Safe for concurrent use; the callbacks may arrive on any thread.
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
    default void started(Route route) {}

    default void failed(Route route, Throwable cause) {}

    default void won(Route route) {}
  }

  /** A plan and the delay after the race's start at which it may begin. */
  public record Entry<S>(ConnectPlan<S> plan, long delayMillis) {}

  /** The winner and the plan's route that carried it. */
  public record Winner<S>(S value, Route route) {}

  /** How long plans due to start wait at most for an attempt that is securing. */
  static final long HOLD_LIMIT_MILLIS = 2_000;

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
  private final boolean[] securing;
  private final List<Integer> held = new ArrayList<>();
  private int securingCount;
  private boolean holdTimerArmed;
  private int inFlight;
  private boolean done;
  private Route winner;

  /**
   * @param entries the plans, in order of preference
   * @param skipped methods not tried at all and why (e.g. "ptcp 1.2.3.4:80: not supported yet"),
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
    this.securing = new boolean[entries.size()];
  }

  /** Starts the race; the future completes with the first winner or fails with every failure. */
  public CompletableFuture<Winner<S>> run() {
    if (entries.isEmpty()) {
      synchronized (this) {
        done = true;
      }
      result.completeExceptionally(new RaceFailedException(null, List.of(), skipped));
      return result;
    }
    List<Integer> now = new ArrayList<>();
    Runnable hard = scheduler.schedule(this::hardTimeout, hardTimeoutMillis);
    long first = entries.stream().mapToLong(Entry::delayMillis).min().orElse(0);
    List<Integer> later = new ArrayList<>();
    synchronized (this) {
      timers.add(hard);
      for (int i = 0; i < entries.size(); i++) {
        if (entries.get(i).delayMillis() - first <= 0) {
          if (mark(i)) {
            now.add(i);
          }
        } else {
          later.add(i);
        }
      }
    }
    for (int i : later) {
      Runnable t = scheduler.schedule(() -> startIfWaiting(i), entries.get(i).delayMillis() - first);
      boolean cancelNow;
      synchronized (this) {
        cancelNow = done;
        if (!done) {
          timers.add(t);
        }
      }
      if (cancelNow) {
        t.run();
      }
    }
    now.forEach(this::launch);
    return result;
  }

  private void startIfWaiting(int idx) {
    boolean go;
    boolean armHold = false;
    synchronized (this) {
      if (securingCount > 0 && !done && !started[idx]) {
        held.add(idx); // an attempt is securing: wait for its outcome, within the hold limit
        armHold = !holdTimerArmed;
        holdTimerArmed = true;
        go = false;
      } else {
        go = mark(idx);
      }
    }
    if (armHold) {
      Runnable t = scheduler.schedule(this::releaseHeld, HOLD_LIMIT_MILLIS);
      synchronized (this) {
        timers.add(t);
      }
    }
    if (go) {
      launch(idx);
    }
  }

  /** Starts every plan held back (the securing attempt failed, or took too long). */
  private void releaseHeld() {
    List<Integer> go = new ArrayList<>();
    synchronized (this) {
      holdTimerArmed = false;
      for (int i : held) {
        if (mark(i)) {
          go.add(i);
        }
      }
      held.clear();
    }
    go.forEach(this::launch);
  }

  private void reached(int idx) {
    synchronized (this) {
      if (!done && !finished[idx] && !securing[idx]) {
        securing[idx] = true;
        securingCount++;
      }
    }
  }

  /** Holds this: marks {@code idx} started unless the race is over or it already started. */
  private boolean mark(int idx) {
    if (done || started[idx]) {
      return false;
    }
    started[idx] = true;
    inFlight++;
    return true;
  }

  /** Runs one attempt; never holds the lock. */
  private void launch(int idx) {
    ConnectPlan<S> plan = entries.get(idx).plan();
    events.started(plan.route());
    log.debug("attempt {} started", plan.route());
    CompletableFuture<S> f;
    try {
      f = plan.attempt();
    } catch (RuntimeException e) {
      f = CompletableFuture.failedFuture(e);
    }
    plan.reached().thenRun(() -> reached(idx));
    f.whenComplete((s, e) -> completed(idx, s, e));
  }

  private void completed(int idx, S value, Throwable error) {
    ConnectPlan<S> plan = entries.get(idx).plan();
    List<ConnectPlan<S>> losers = new ArrayList<>();
    List<Runnable> cancelTimers = List.of();
    boolean won = false;
    boolean discardIt = false;
    boolean failRace = false;
    int startNext = -1;
    Throwable cause = error == null ? null : Futures.unwrap(error);
    Route lostTo = null;
    boolean release = false;
    synchronized (this) {
      lostTo = winner;
      finished[idx] = true;
      inFlight--;
      if (securing[idx]) {
        securing[idx] = false;
        securingCount--;
        release = error != null && securingCount == 0 && !held.isEmpty();
      }
      if (error == null) {
        if (done) {
          discardIt = true;
        } else {
          done = won = true;
          winner = plan.route();
          for (int i = 0; i < entries.size(); i++) {
            if (i != idx && started[i] && !finished[i]) {
              losers.add(entries.get(i).plan());
            }
          }
          cancelTimers = new ArrayList<>(timers);
        }
      } else {
        failures.add(new RaceFailedException.MethodFailure(plan.route().toString(), cause));
        if (!done) {
          boolean allDone = true;
          for (int i = 0; i < entries.size(); i++) {
            allDone &= finished[i];
          }
          if (allDone) {
            done = failRace = true;
            cancelTimers = new ArrayList<>(timers);
          } else if (inFlight == 0) {
            for (int i = 0; i < entries.size(); i++) {
              if (mark(i)) {
                startNext = i; // nothing in flight: do not wait for the soft timeout
                break;
              }
            }
          }
        }
      }
    }
    cancelTimers.forEach(Runnable::run);
    if (error != null) {
      Throwable reported = cause instanceof CancellationException && lostTo != null
          ? new CancellationException("lost: " + lostTo + " won first") : cause;
      events.failed(plan.route(), reported);
      log.debug("attempt {} failed: {}", plan.route(), cause.toString());
    }
    if (won) {
      events.won(plan.route());
      log.debug("attempt {} won", plan.route());
      result.complete(new Winner<>(value, plan.route()));
    }
    if (failRace) {
      result.completeExceptionally(new RaceFailedException(null, snapshotFailures(), skipped));
    }
    if (discardIt) {
      discard.accept(value);
    }
    losers.forEach(ConnectPlan::cancel);
    if (startNext >= 0) {
      launch(startNext);
    }
    if (release) {
      releaseHeld(); // the attempt that held them back failed: go on at once
    }
  }

  private synchronized List<Throwable> snapshotFailures() {
    return new ArrayList<>(failures);
  }

  private void hardTimeout() {
    List<ConnectPlan<S>> running = new ArrayList<>();
    List<Runnable> cancelTimers;
    synchronized (this) {
      if (done) {
        return;
      }
      done = true;
      for (int i = 0; i < entries.size(); i++) {
        String route = entries.get(i).plan().route().toString();
        if (started[i] && !finished[i]) {
          running.add(entries.get(i).plan());
          failures.add(new RaceFailedException.MethodFailure(route,
              new TimeoutException("did not finish within " + hardTimeoutMillis + " ms")));
        } else if (!started[i]) {
          failures.add(new RaceFailedException.MethodFailure(route,
              new TimeoutException("never started before the timeout")));
        }
      }
      cancelTimers = new ArrayList<>(timers);
    }
    cancelTimers.forEach(Runnable::run);
    result.completeExceptionally(new RaceFailedException("timed out after " + hardTimeoutMillis + " ms",
        snapshotFailures(), skipped));
    running.forEach(ConnectPlan::cancel);
  }
}
