package org.q2q.client.internal.presence;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.q2q.certstore.Address;

/** The bounded handler executor: per-peer share, per-peer and overall waiting, dropped handlers. */
@Timeout(30)
class HandlerExecutorTest {
  private static final Address MALLORY = Address.parse("mallory@a.test");
  private static final Address CAROL = Address.parse("carol@b.test");

  @Test
  void aPeerRunsItsShareThenWaitsThenIsRefusedWhileOthersStillRun() throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    CountDownLatch carolRan = new CountDownLatch(1);
    AtomicInteger ran = new AtomicInteger();
    try (HandlerExecutor ex = new HandlerExecutor("t", 4, 2, 3, 100)) {
      Runnable stall = () -> {
        ran.incrementAndGet();
        try {
          release.await();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      };
      for (int i = 0; i < 5; i++) {
        ex.execute(MALLORY, stall, () -> { });
      }
      assertThatThrownBy(() -> ex.execute(MALLORY, stall, () -> { }))
          .isInstanceOf(RejectedExecutionException.class).hasMessageContaining("2 channel handlers running and 3 waiting");
      ex.execute(CAROL, carolRan::countDown, () -> { });
      assertThat(carolRan.await(10, TimeUnit.SECONDS)).as("another peer runs on the free threads").isTrue();
      assertThat(ran.get()).isEqualTo(2);
      assertThat(ex.waiting()).isEqualTo(3);

      release.countDown();
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (ran.get() < 5 && System.nanoTime() < deadline) {
        Thread.sleep(5);
      }
      assertThat(ran.get()).as("the waiting ones ran in turn").isEqualTo(5);
      assertThat(ex.largestPoolSize()).as("never more than the thread cap").isLessThanOrEqualTo(4);
    }
  }

  @Test
  void aWaitingHandlerThatCannotRunIsDroppedNotLost() throws Exception {
    CountDownLatch started = new CountDownLatch(1);
    CountDownLatch dropped = new CountDownLatch(1);
    HandlerExecutor ex = new HandlerExecutor("t", 1, 1, 1, 1);
    ex.execute(MALLORY, () -> {
      started.countDown();
      try {
        Thread.sleep(200);
      } catch (InterruptedException e) {
        // closed: finish at once
      }
    }, () -> { });
    ex.execute(MALLORY, () -> { }, dropped::countDown);
    assertThat(started.await(10, TimeUnit.SECONDS)).isTrue();
    ex.close(); // the running one ends; the waiting one cannot start
    assertThat(dropped.await(10, TimeUnit.SECONDS)).as("its channel is told (reset)").isTrue();
  }
}
