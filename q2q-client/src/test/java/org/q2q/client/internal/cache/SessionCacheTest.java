package org.q2q.client.internal.cache;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.q2q.certstore.Address;

class SessionCacheTest {
  static final class FakeSession {
    final CompletableFuture<Void> closed = new CompletableFuture<>();
    final String name;

    FakeSession(String name) {
      this.name = name;
    }
  }

  private final List<String> closedByCache = new ArrayList<>();
  private final SessionCache<FakeSession> cache = new SessionCache<>(
      s -> !s.closed.isDone(), s -> s.closed, s -> {
        closedByCache.add(s.name);
        s.closed.complete(null);
      });
  private static final Address BOB = Address.parse("bob@example.com");

  @Test
  void concurrentConnectsShareOneAttemptAndThenTheSession() {
    AtomicInteger attempts = new AtomicInteger();
    CompletableFuture<FakeSession> pending = new CompletableFuture<>();
    List<Boolean> joined = new ArrayList<>();
    CompletableFuture<FakeSession> a = cache.getOrConnect(BOB, () -> {
      attempts.incrementAndGet();
      return pending;
    }, joined::add);
    CompletableFuture<FakeSession> b = cache.getOrConnect(BOB, () -> {
      attempts.incrementAndGet();
      return new CompletableFuture<>();
    }, joined::add);
    FakeSession s = new FakeSession("s1");
    pending.complete(s);

    assertThat(a.join()).isSameAs(s);
    assertThat(b.join()).isSameAs(s);
    assertThat(attempts).hasValue(1);
    assertThat(joined).containsExactly(false, true);
    assertThat(cache.getOrConnect(BOB, () -> {
      throw new AssertionError("must reuse");
    }, joined::add).join()).isSameAs(s);
  }

  @Test
  void aClosedSessionIsEvictedAndAFailureIsNotCached() {
    FakeSession s = new FakeSession("s1");
    cache.put(BOB, s);
    assertThat(cache.get(BOB)).contains(s);
    s.closed.complete(null);
    assertThat(cache.get(BOB)).isEmpty();
    assertThat(cache.size()).isZero();

    CompletableFuture<FakeSession> failed = cache.getOrConnect(BOB,
        () -> CompletableFuture.failedFuture(new java.io.IOException("nope")), j -> {});
    assertThat(failed).isCompletedExceptionally();
    FakeSession s2 = new FakeSession("s2");
    assertThat(cache.getOrConnect(BOB, () -> CompletableFuture.completedFuture(s2), j -> {}).join()).isSameAs(s2);
  }

  @Test
  void anAcceptedSessionDoesNotReplaceAnOpenOneAndCloseAllClosesEverything() {
    FakeSession first = new FakeSession("first");
    FakeSession second = new FakeSession("second");
    assertThat(cache.put(BOB, first)).isSameAs(first);
    assertThat(cache.put(BOB, second)).isSameAs(first);
    second.closed.complete(null); // closing the uncached one does not evict the cached one
    assertThat(cache.get(BOB)).contains(first);
    cache.closeAll();
    assertThat(closedByCache).containsExactly("first");
    assertThat(cache.getOrConnect(BOB, () -> CompletableFuture.completedFuture(new FakeSession("x")), j -> {}))
        .isCompletedExceptionally();
  }
}
