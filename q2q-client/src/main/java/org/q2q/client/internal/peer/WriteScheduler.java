package org.q2q.client.internal.peer;

import java.util.ArrayDeque;

/**
 * Decides which channel sends the next chunk on the shared transport; kept apart from the
 * flow-control accounting (as Netty's {@code StreamByteDistributor} is). This one is plain
 * round-robin: every ready channel sends one chunk per turn, so a 64 MiB write cannot starve a
 * small one. Not thread-safe; event-loop only.
 */
final class WriteScheduler {
  private final ArrayDeque<VirtualChildChannel> ready = new ArrayDeque<>();

  /** Queues {@code ch} for a turn unless it already waits for one. */
  void add(VirtualChildChannel ch) {
    if (!ch.scheduled) {
      ch.scheduled = true;
      ready.addLast(ch);
    }
  }

  /** The next channel whose turn it is, or null. */
  VirtualChildChannel poll() {
    VirtualChildChannel ch = ready.pollFirst();
    if (ch != null) {
      ch.scheduled = false;
    }
    return ch;
  }

  boolean isEmpty() {
    return ready.isEmpty();
  }

  void clear() {
    VirtualChildChannel ch;
    while ((ch = ready.pollFirst()) != null) {
      ch.scheduled = false;
    }
  }
}
