package org.q2q.client.internal.presence;

import java.time.Duration;
import java.util.ArrayDeque;
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
 * channels arrive:
 *
 * <ul>
 *   <li>at most {@code threads} threads (created on demand, ended after 30 s idle);
 *   <li>one peer address runs at most {@code perPeer} handlers at once; its further handlers wait
 *       in its own queue (at most {@code perPeerWaiting}) and start as its running ones finish, so
 *       a peer that opens channels and stalls their handlers holds at most {@code perPeer} threads
 *       and everyone else keeps the rest;
 *   <li>at most {@code waiting} handlers wait in all, over every peer;
 *   <li>beyond that, {@link RejectedExecutionException}, which the channel acceptor turns into a
 *       REFUSED reset of that channel.
 * </ul>
 *
 * Handlers of one peer that wait for each other (channel A's handler blocks until channel B's
 * runs) need fewer than {@code perPeer} of them at once. Safe for concurrent use.
 */
public final class HandlerExecutor implements AutoCloseable {
  /** Default most handler threads, 64. */
  public static final int DEFAULT_THREADS = 64;
  /** Default most handlers waiting for a thread, over all peers, 1024. */
  public static final int DEFAULT_WAITING = 1024;
  /** Default most handlers waiting for one peer address, 256 (one session's channels). */
  public static final int DEFAULT_PER_PEER_WAITING = 256;
  private static final Duration IDLE_THREAD = Duration.ofSeconds(30);

  private final ThreadPoolExecutor pool;
  private final int perPeer;
  private final int perPeerWaiting;
  private final int waiting;
  /** Running and waiting handlers per peer address. Guarded by this. */
  private final Map<Address, PeerQueue> peers = new HashMap<>();
  /** Handlers waiting over all peers. Guarded by this. */
  private int totalWaiting;

  /** One peer's handlers: how many run, and the ones waiting their turn. */
  private static final class PeerQueue {
    int running;
    final ArrayDeque<Task> waiting = new ArrayDeque<>();
  }

  /** A handler, and what to do if it is dropped after waiting (this executor closed or full). */
  private record Task(Runnable handler, Runnable ifDropped) {}

  /** @param name thread name prefix, e.g. "q2q-channel-alice@example.com" */
  public HandlerExecutor(String name, int threads, int perPeer, int perPeerWaiting, int waiting) {
    if (threads < 1 || perPeer < 1 || perPeerWaiting < 0 || waiting < 0) {
      throw new IllegalArgumentException("need threads >= 1, perPeer >= 1, waiting >= 0: "
          + threads + ", " + perPeer + ", " + perPeerWaiting + ", " + waiting);
    }
    AtomicInteger n = new AtomicInteger();
    // Never more than `threads` run; the pool's own queue only holds handlers already admitted.
    this.pool = new ThreadPoolExecutor(threads, threads, IDLE_THREAD.toMillis(), TimeUnit.MILLISECONDS,
        new ArrayBlockingQueue<>(Math.max(1, waiting)), r -> {
          Thread t = new Thread(r, name + "-" + n.incrementAndGet());
          t.setDaemon(true);
          return t;
        });
    pool.allowCoreThreadTimeOut(true);
    this.perPeer = perPeer;
    this.perPeerWaiting = perPeerWaiting;
    this.waiting = waiting;
  }

  /**
   * {@code threads} threads, one peer at most half of them, and the default queues ({@value
   * #DEFAULT_PER_PEER_WAITING} per peer, {@value #DEFAULT_WAITING} in all).
   */
  public static HandlerExecutor withThreads(String name, int threads) {
    return new HandlerExecutor(name, threads, Math.max(1, threads / 2), DEFAULT_PER_PEER_WAITING, DEFAULT_WAITING);
  }

  /**
   * Runs {@code handler} for a channel of {@code peer}, now or when one of the peer's running
   * handlers finishes; if it waited and then cannot run, {@code ifDropped} runs instead (on the
   * thread of the handler that finished).
   *
   * @throws RejectedExecutionException if the peer's or the overall queue is full, or this
   *     executor is closed
   */
  public void execute(Address peer, Runnable handler, Runnable ifDropped) {
    synchronized (this) {
      PeerQueue q = peers.computeIfAbsent(peer, k -> new PeerQueue());
      if (q.running >= perPeer) {
        if (q.waiting.size() >= perPeerWaiting || totalWaiting >= waiting) {
          throw new RejectedExecutionException(peer + " has " + q.running + " channel handlers running and "
              + q.waiting.size() + " waiting (" + totalWaiting + " waiting in all), the limit");
        }
        q.waiting.add(new Task(handler, ifDropped));
        totalWaiting++;
        return;
      }
      q.running++;
    }
    submit(peer, handler);
  }

  private void submit(Address peer, Runnable handler) {
    try {
      pool.execute(() -> {
        try {
          handler.run();
        } finally {
          next(peer);
        }
      });
    } catch (RejectedExecutionException e) {
      synchronized (this) {
        PeerQueue q = peers.get(peer);
        if (q != null && --q.running == 0 && q.waiting.isEmpty()) {
          peers.remove(peer);
        }
      }
      throw new RejectedExecutionException("channel handlers cannot run (closed or every slot taken)", e);
    }
  }

  /** A handler of {@code peer} finished: start its next waiting one, if any. */
  private void next(Address peer) {
    Task nextHandler;
    synchronized (this) {
      PeerQueue q = peers.get(peer);
      if (q == null) {
        return;
      }
      nextHandler = q.waiting.poll();
      if (nextHandler != null) {
        totalWaiting--;
      } else if (--q.running == 0) {
        peers.remove(peer);
      }
    }
    if (nextHandler != null) {
      try {
        submit(peer, nextHandler.handler());
      } catch (RejectedExecutionException full) {
        nextHandler.ifDropped().run();
      }
    }
  }

  /** Most threads that ever ran at once. */
  public int largestPoolSize() {
    return pool.getLargestPoolSize();
  }

  /** Handlers waiting for their peer's turn. */
  public synchronized int waiting() {
    return totalWaiting;
  }

  /** Stops the threads (interrupting running handlers). */
  @Override
  public void close() {
    pool.shutdownNow();
  }
}
