package org.q2q.client.internal.presence;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.q2q.certstore.Address;

/**
 * Runs the applications' channel handlers with bounded resources, because peers decide how many
 * channels arrive: at most {@code threads} threads (created on demand, ended after 30 s idle), then
 * a queue of {@code queue} tasks, then refusal. One peer address may have at most {@code perPeer}
 * handlers running or queued, so a peer that opens channels and stalls their handlers cannot take
 * every thread from the others. A refusal is a {@link RejectedExecutionException}, which the
 * channel acceptor turns into a REFUSED reset of that channel. Safe for concurrent use.
 */
public final class HandlerExecutor implements AutoCloseable {
  /** Default most handler threads, 64. */
  public static final int DEFAULT_THREADS = 64;
  /** Default most handlers waiting for a thread, 1024. */
  public static final int DEFAULT_QUEUE = 1024;
  /** Default most handlers running or queued for one peer address, 32. */
  public static final int DEFAULT_PER_PEER = 32;
  private static final Duration IDLE_THREAD = Duration.ofSeconds(30);

  private final ThreadPoolExecutor pool;
  private final int perPeer;
  /** Handlers running or queued, per peer address. Guarded by this. */
  private final Map<Address, Integer> inFlight = new HashMap<>();

  /** @param name thread name prefix, e.g. "q2q-handler-alice@example.com" */
  public HandlerExecutor(String name, int threads, int queue, int perPeer) {
    if (threads < 1 || queue < 0 || perPeer < 1) {
      throw new IllegalArgumentException(
          "need threads >= 1, queue >= 0, perPeer >= 1: " + threads + ", " + queue + ", " + perPeer);
    }
    AtomicInteger n = new AtomicInteger();
    this.pool = new ThreadPoolExecutor(threads, threads, IDLE_THREAD.toMillis(), TimeUnit.MILLISECONDS,
        queue == 0 ? new java.util.concurrent.SynchronousQueue<>() : new ArrayBlockingQueue<>(queue), r -> {
          Thread t = new Thread(r, name + "-" + n.incrementAndGet());
          t.setDaemon(true);
          return t;
        });
    pool.allowCoreThreadTimeOut(true);
    this.perPeer = perPeer;
  }

  /** The defaults: {@value #DEFAULT_THREADS} threads, {@value #DEFAULT_QUEUE} queued, {@value #DEFAULT_PER_PEER} per peer. */
  public static HandlerExecutor withDefaults(String name) {
    return new HandlerExecutor(name, DEFAULT_THREADS, DEFAULT_QUEUE, DEFAULT_PER_PEER);
  }

  /**
   * Runs {@code handler} for a channel of {@code peer}.
   *
   * @throws RejectedExecutionException if the peer has its limit of handlers, or every thread and
   *     queue slot is taken, or this executor is closed
   */
  public void execute(Address peer, Runnable handler) {
    synchronized (this) {
      int n = inFlight.getOrDefault(peer, 0);
      if (n >= perPeer) {
        throw new RejectedExecutionException(peer + " has " + n + " channel handlers running or queued, the limit");
      }
      inFlight.put(peer, n + 1);
    }
    try {
      pool.execute(() -> {
        try {
          handler.run();
        } finally {
          done(peer);
        }
      });
    } catch (RejectedExecutionException e) {
      done(peer);
      throw new RejectedExecutionException("every channel handler thread and queue slot is taken", e);
    }
  }

  private synchronized void done(Address peer) {
    inFlight.computeIfPresent(peer, (k, v) -> v <= 1 ? null : v - 1);
  }

  /** Most threads that ever ran at once. */
  public int largestPoolSize() {
    return pool.getLargestPoolSize();
  }

  /** Handlers waiting for a thread. */
  public int queued() {
    return pool.getQueue().size();
  }

  /** Stops the threads (interrupting running handlers). */
  @Override
  public void close() {
    pool.shutdownNow();
  }
}
