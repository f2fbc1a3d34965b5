package org.q2q.client.internal.cache;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Predicate;
import java.util.function.Supplier;
import org.q2q.certstore.Address;

/**
 * The peer sessions of one local identity, at most one per remote address, shared by every
 * channel to that peer (Vertex's connection cache, without its bugs).
 *
 * <ul>
 *   <li>The key is simply the remote address: the local side is always this client's identity,
 *       so the client-side and accepted-side keys cannot disagree (Vertex's did).
 *   <li>Concurrent connects to one peer share one in-flight attempt; its failure reaches every
 *       waiter, and the next connect starts afresh (failures are not cached).
 *   <li>Sessions the peer initiated are cached too, so either side can open channels on them.
 *   <li>A session is evicted as soon as it closes, and only if it is still the cached one.
 * </ul>
 *
 * Safe for concurrent use.
 *
 * @param <S> the session type
 */
public final class SessionCache<S> {
  private final Map<Address, S> sessions = new ConcurrentHashMap<>();
  private final Map<Address, CompletableFuture<S>> inFlight = new ConcurrentHashMap<>();
  private final Predicate<S> isOpen;
  private final Function<S, CompletableFuture<?>> closeFuture;
  private final Consumer<S> closer;
  private volatile boolean closed;

  /**
   * @param isOpen whether a session is still usable
   * @param closeFuture completes when a session ends
   * @param closer closes a session
   */
  public SessionCache(Predicate<S> isOpen, Function<S, CompletableFuture<?>> closeFuture, Consumer<S> closer) {
    this.isOpen = isOpen;
    this.closeFuture = closeFuture;
    this.closer = closer;
  }

  /** The open session with {@code remote}, if any. */
  public Optional<S> get(Address remote) {
    S s = sessions.get(remote);
    if (s != null && !isOpen.test(s)) {
      sessions.remove(remote, s);
      return Optional.empty();
    }
    return Optional.ofNullable(s);
  }

  /**
   * The open session with {@code remote}; else joins the attempt in flight; else starts one with
   * {@code connector} and caches its result.
   *
   * @param joined told (with true) when this call reuses a cached session or joins an attempt
   */
  public CompletableFuture<S> getOrConnect(Address remote, Supplier<CompletableFuture<S>> connector, Consumer<Boolean> joined) {
    if (closed) {
      return CompletableFuture.failedFuture(new IllegalStateException("the client is closed"));
    }
    Optional<S> cached = get(remote);
    if (cached.isPresent()) {
      joined.accept(true);
      return CompletableFuture.completedFuture(cached.get());
    }
    CompletableFuture<S> mine = new CompletableFuture<>();
    CompletableFuture<S> existing = inFlight.putIfAbsent(remote, mine);
    if (existing != null) {
      joined.accept(true);
      return existing;
    }
    // Re-check: a session may have been cached between get() and putIfAbsent().
    Optional<S> raced = get(remote);
    if (raced.isPresent()) {
      inFlight.remove(remote, mine);
      mine.complete(raced.get());
      joined.accept(true);
      return mine;
    }
    joined.accept(false);
    CompletableFuture<S> attempt;
    try {
      attempt = connector.get();
    } catch (RuntimeException e) {
      attempt = CompletableFuture.failedFuture(e);
    }
    attempt.whenComplete((s, e) -> {
      if (e == null) {
        S winner = put(remote, s);
        inFlight.remove(remote, mine);
        mine.complete(winner);
      } else {
        inFlight.remove(remote, mine);
        mine.completeExceptionally(e);
      }
    });
    return mine;
  }

  /**
   * Caches {@code session} with {@code remote} unless an open one is cached already (then the
   * new one stays usable by whoever holds it, but is not shared).
   *
   * @return the session now cached for {@code remote}
   */
  public S put(Address remote, S session) {
    if (closed) {
      closer.accept(session);
      return session;
    }
    S cached = sessions.compute(remote, (k, old) -> old != null && isOpen.test(old) ? old : session);
    if (cached == session) {
      closeFuture.apply(session).whenComplete((v, e) -> sessions.remove(remote, session));
      if (!isOpen.test(session)) {
        sessions.remove(remote, session); // closed before the listener was added
      }
    }
    return cached;
  }

  /** Number of cached sessions (for tests and diagnostics). */
  public int size() {
    return sessions.size();
  }

  /** Closes every cached session; later connects make new ones. */
  public void evictAll() {
    List<S> all = new ArrayList<>(sessions.values());
    all.forEach(s -> {
      sessions.values().remove(s);
      closer.accept(s);
    });
  }

  /** Closes every cached session; later connects fail. The result waits for them to end. */
  public Closing closeAll() {
    closed = true;
    List<S> all = new ArrayList<>(sessions.values());
    sessions.clear();
    List<CompletableFuture<?>> ends = new ArrayList<>();
    for (S s : all) {
      try {
        ends.add(closeFuture.apply(s));
        closer.accept(s);
      } catch (RuntimeException e) {
        // its event loop is gone already (a shared group shut down first): nothing left to close
      }
    }
    return new Closing(CompletableFuture.allOf(ends.toArray(CompletableFuture[]::new)));
  }

  /** The end of {@link #closeAll()}. */
  public record Closing(CompletableFuture<Void> done) {
    /** Waits up to {@code max} for every session to end. */
    public void awaitQuietly(java.time.Duration max) {
      try {
        done.get(max.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
      } catch (Exception e) {
        // a session that does not end in time is abandoned; its transport goes with the client
      }
    }
  }
}
