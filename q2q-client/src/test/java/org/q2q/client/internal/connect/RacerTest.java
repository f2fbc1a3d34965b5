package org.q2q.client.internal.connect;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.PriorityQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.Test;
import org.q2q.client.Route;

/**
 * The racer with fake plans on a manual clock: each step advances virtual time and the event log
 * is checked after it (okhttp FastFallbackExchangeFinderTest style).
 */
class RacerTest {
  private final List<String> log = new ArrayList<>();
  private final FakeScheduler scheduler = new FakeScheduler();

  /** Virtual time: tasks run when {@link #advance} passes their deadline. */
  static final class FakeScheduler implements Racer.Scheduler {
    record Task(long at, long seq, Runnable r, boolean[] cancelled) {}

    private final PriorityQueue<Task> queue = new PriorityQueue<>(
        (a, b) -> a.at != b.at ? Long.compare(a.at, b.at) : Long.compare(a.seq, b.seq));
    long now;
    private long seq;

    @Override
    public Runnable schedule(Runnable task, long delayMillis) {
      boolean[] cancelled = new boolean[1];
      queue.add(new Task(now + delayMillis, seq++, task, cancelled));
      return () -> cancelled[0] = true;
    }

    void advance(long millis) {
      long until = now + millis;
      while (!queue.isEmpty() && queue.peek().at <= until) {
        Task t = queue.poll();
        now = t.at;
        if (!t.cancelled[0]) {
          t.r.run();
        }
      }
      now = until;
    }
  }

  class FakePlan implements ConnectPlan<String> {
    final String name;
    final CompletableFuture<String> result = new CompletableFuture<>();
    final CompletableFuture<Void> reached = new CompletableFuture<>();

    FakePlan(String name) {
      this.name = name;
    }

    @Override
    public Route route() {
      return new Route(Route.Kind.TCP, name);
    }

    @Override
    public CompletableFuture<String> attempt() {
      log.add(scheduler.now + " " + name + " start");
      return result;
    }

    @Override
    public CompletableFuture<?> reached() {
      return reached;
    }

    @Override
    public void cancel() {
      log.add(scheduler.now + " " + name + " cancel");
      result.completeExceptionally(new java.util.concurrent.CancellationException("cancelled"));
    }
  }

  private Racer<String> racer(List<Racer.Entry<String>> entries, long hardTimeout, List<String> discarded) {
    return new Racer<>(entries, List.of("tcp 1.2.3.4:5: not supported by this client yet"), hardTimeout, scheduler,
        new Racer.Events() {
          @Override
          public void failed(Route route, Throwable cause) {
            log.add(scheduler.now + " " + route.via() + " failed: " + cause.getMessage());
          }

          @Override
          public void won(Route route) {
            log.add(scheduler.now + " " + route.via() + " won");
          }
        }, discarded::add);
  }

  @Test
  void laterPlansStartAtTheirSoftDelayAndTheFirstSuccessWinsCancellingTheRest() throws Exception {
    FakePlan a = new FakePlan("a");
    FakePlan b = new FakePlan("b");
    FakePlan c = new FakePlan("c");
    List<String> discarded = new ArrayList<>();
    CompletableFuture<Racer.Winner<String>> w = racer(List.of(
        new Racer.Entry<>(a, 0), new Racer.Entry<>(b, 250), new Racer.Entry<>(c, 500)), 10_000, discarded).run();

    assertThat(log).containsExactly("0 a start");
    scheduler.advance(250);
    assertThat(log).containsExactly("0 a start", "250 b start");
    scheduler.advance(100);
    b.result.complete("session-b");
    assertThat(w.get().value()).isEqualTo("session-b");
    assertThat(w.get().route().via()).isEqualTo("b");
    assertThat(log).containsExactly("0 a start", "250 b start", "350 b won", "350 a cancel",
        "350 a failed: lost: direct tcp b won first");
    scheduler.advance(1000);
    assertThat(log).doesNotContain("500 c start"); // never started after the win
    assertThat(discarded).isEmpty();
  }

  @Test
  void aPlanDueWhileAnotherIsSecuringWaitsAndStartsAtOnceWhenThatOneFails() {
    FakePlan a = new FakePlan("a");
    FakePlan b = new FakePlan("b");
    racer(List.of(new Racer.Entry<>(a, 0), new Racer.Entry<>(b, 250)), 10_000, new ArrayList<>()).run();
    scheduler.advance(10);
    a.reached.complete(null); // a's transport is up, its TLS under way
    scheduler.advance(290);
    assertThat(log).containsExactly("0 a start"); // b was due at 250 and waits
    a.result.completeExceptionally(new java.io.IOException("wrong peer"));
    assertThat(log).containsExactly("0 a start", "300 a failed: wrong peer", "300 b start");
  }

  @Test
  void aSecuringAttemptHoldsTheOthersBackForAtMostTheHoldLimit() {
    FakePlan a = new FakePlan("a");
    FakePlan b = new FakePlan("b");
    racer(List.of(new Racer.Entry<>(a, 0), new Racer.Entry<>(b, 250)), 10_000, new ArrayList<>()).run();
    a.reached.complete(null); // connected, then the far end says nothing
    scheduler.advance(250 + Racer.HOLD_LIMIT_MILLIS - 1);
    assertThat(log).containsExactly("0 a start");
    scheduler.advance(1);
    assertThat(log).containsExactly("0 a start", (250 + Racer.HOLD_LIMIT_MILLIS) + " b start");
  }

  @Test
  void aFailureWithNothingInFlightStartsTheNextPlanAtOnce() {
    FakePlan a = new FakePlan("a");
    FakePlan b = new FakePlan("b");
    racer(List.of(new Racer.Entry<>(a, 0), new Racer.Entry<>(b, 500)), 10_000, new ArrayList<>()).run();
    scheduler.advance(10);
    a.result.completeExceptionally(new java.io.IOException("refused"));
    assertThat(log).containsExactly("0 a start", "10 a failed: refused", "10 b start");
    scheduler.advance(1000);
    assertThat(log).hasSize(3); // b's timer found it started already
  }

  @Test
  void everyFailureIsListedInOneError() {
    FakePlan a = new FakePlan("relay via s1");
    FakePlan b = new FakePlan("relay via s2");
    CompletableFuture<Racer.Winner<String>> w =
        racer(List.of(new Racer.Entry<>(a, 0), new Racer.Entry<>(b, 0)), 10_000, new ArrayList<>()).run();
    a.result.completeExceptionally(new java.io.IOException("listener gone"));
    b.result.completeExceptionally(new java.io.IOException("wrong peer"));
    assertThat(w).isCompletedExceptionally();
    Throwable e = catchCause(w);
    assertThat(e).isInstanceOf(RaceFailedException.class)
        .hasMessage("every connection method failed; direct tcp relay via s1: listener gone; direct tcp relay via s2: wrong peer; "
            + "tcp 1.2.3.4:5: not supported by this client yet");
    assertThat(e.getSuppressed()).hasSize(2);
  }

  @Test
  void theHardTimeoutCancelsWhatIsRunningAndSaysSo() {
    FakePlan a = new FakePlan("a");
    CompletableFuture<Racer.Winner<String>> w = racer(List.of(new Racer.Entry<>(a, 0)), 1000, new ArrayList<>()).run();
    scheduler.advance(999);
    assertThat(w).isNotDone();
    scheduler.advance(1);
    Throwable e = catchCause(w);
    assertThat(e).isInstanceOf(RaceFailedException.class);
    assertThat(((RaceFailedException) e).timedOut()).isTrue();
    assertThat(e.getMessage()).startsWith("no connection method succeeded (timed out after 1000 ms); direct tcp a: did not finish");
    assertThat(log).contains("1000 a cancel");
  }

  @Test
  void aLateSecondWinnerIsDiscarded() throws Exception {
    FakePlan a = new FakePlan("a");
    FakePlan b = new FakePlan("b");
    List<String> discarded = new ArrayList<>();
    // b ignores cancellation (its completion races with it)
    FakePlan stubborn = new FakePlan("b") {
      @Override
      public void cancel() {
        log.add(scheduler.now + " b cancel (too late)");
      }
    };
    CompletableFuture<Racer.Winner<String>> w =
        racer(List.of(new Racer.Entry<>(a, 0), new Racer.Entry<>(stubborn, 0)), 10_000, discarded).run();
    a.result.complete("first");
    stubborn.result.complete("second");
    assertThat(w.get().value()).isEqualTo("first");
    assertThat(discarded).containsExactly("second");
    assertThat(b.result).isNotDone();
  }

  @Test
  void noPlanEventOrResultCallbackRunsUnderTheRacersLock() throws Exception {
    List<Boolean> locked = new ArrayList<>();
    Racer<String>[] racer = new Racer[1];
    FakePlan a = new FakePlan("a") {
      @Override
      public CompletableFuture<String> attempt() {
        locked.add(Thread.holdsLock(racer[0]));
        return super.attempt();
      }

      @Override
      public void cancel() {
        locked.add(Thread.holdsLock(racer[0]));
        super.cancel();
      }
    };
    FakePlan b = new FakePlan("b") {
      @Override
      public CompletableFuture<String> attempt() {
        locked.add(Thread.holdsLock(racer[0]));
        return super.attempt();
      }
    };
    racer[0] = new Racer<>(List.of(new Racer.Entry<>(a, 0), new Racer.Entry<>(b, 100)), List.of(), 10_000, scheduler,
        new Racer.Events() {
          @Override
          public void started(Route route) {
            locked.add(Thread.holdsLock(racer[0]));
          }

          @Override
          public void failed(Route route, Throwable cause) {
            locked.add(Thread.holdsLock(racer[0]));
          }

          @Override
          public void won(Route route) {
            locked.add(Thread.holdsLock(racer[0]));
          }
        }, s -> { });
    CompletableFuture<Racer.Winner<String>> w = racer[0].run();
    w.whenComplete((x, e) -> locked.add(Thread.holdsLock(racer[0])));
    scheduler.advance(100);
    b.result.complete("b wins");
    assertThat(w.get().value()).isEqualTo("b wins");
    // started a, attempt a, started b, attempt b, won b, result, cancel a, failed a
    assertThat(locked).hasSize(8).containsOnly(false);
  }

  @Test
  void noMethodsAtAllFailsAtOnce() {
    CompletableFuture<Racer.Winner<String>> w = new Racer<String>(List.of(), List.of(), 1000, scheduler,
        new Racer.Events() {}, s -> {}).run();
    assertThat(catchCause(w)).hasMessage("the listener offered no connection method");
  }

  private static Throwable catchCause(CompletableFuture<?> f) {
    try {
      f.get();
      throw new AssertionError("expected a failure");
    } catch (ExecutionException e) {
      return e.getCause();
    } catch (InterruptedException e) {
      throw new AssertionError(e);
    }
  }
}
