package org.q2q.server.presence;

import java.time.Duration;
import java.util.Objects;

/**
 * The bounds of Listen streams and the listener ids Inbound hands out, per address and for the
 * whole server, so that many accounts (cheap with open registration) still cannot grow the server
 * without limit.
 *
 * @param maxSessionsPerAddress Listen streams one address may hold open (one per machine of a user,
 *     with room for reconnects)
 * @param maxSessions Listen streams open on the server at once
 * @param outboundBudgetBytes bytes of queries a Listen stream may have queued on the server while
 *     its client does not read (beyond what gRPC buffers itself, 32 KiB); past it the stream is
 *     ended with RESOURCE_EXHAUSTED. Registered and heartbeat echoes are coalesced (at most one of
 *     each waits), so they do not count
 * @param globalOutboundBytes the same, summed over all Listen streams
 * @param stallTimeout a Listen stream whose client has not taken what the server has to send for
 *     this long is ended with RESOURCE_EXHAUSTED
 * @param maxListenerIds unused listener ids on the server at once (per caller: {@link
 *     org.q2q.server.internal.presence.ListenerTickets#MAX_PER_CALLER})
 */
public record ListenLimits(
    int maxSessionsPerAddress,
    int maxSessions,
    long outboundBudgetBytes,
    long globalOutboundBytes,
    Duration stallTimeout,
    int maxListenerIds) {

  /** Listen streams open on the server at once, by default. */
  public static final int DEFAULT_MAX_SESSIONS = 50_000;

  public ListenLimits {
    if (maxSessionsPerAddress < 1 || maxSessions < 1 || outboundBudgetBytes < 1 || globalOutboundBytes < 1
        || maxListenerIds < 1) {
      throw new IllegalArgumentException("Listen limits must be at least 1: " + maxSessionsPerAddress + ", "
          + maxSessions + ", " + outboundBudgetBytes + ", " + globalOutboundBytes + ", " + maxListenerIds);
    }
    Objects.requireNonNull(stallTimeout, "stallTimeout");
    if (stallTimeout.isNegative() || stallTimeout.isZero()) {
      throw new IllegalArgumentException("stallTimeout must be positive, got " + stallTimeout);
    }
  }

  /**
   * 32 streams per address, 50,000 on the server (about 4 KiB of heap each, plus about 21 KiB per
   * client connection: bench/capacity.sh), 256 KiB queued per stream and 64 MiB in all, a 30 s stall
   * timeout, and up to 1,000,000 listener ids (an Inbound takes one per accepting stream, and ids
   * used for direct connections are never returned to the server: they expire, so at the 60 s
   * lifetime a million sustains 16,000 ids a second, 3,300 Inbound/s to five listening sessions
   * each), fewer on a small heap: an id costs about {@value #BYTES_PER_LISTENER_ID} bytes and all of
   * them may take an eighth of the heap (a million from a 1.5 GiB heap up).
   */
  public static ListenLimits defaults() {
    return new ListenLimits(32, DEFAULT_MAX_SESSIONS, 256 << 10, 64L << 20, Duration.ofSeconds(30),
        listenerIdsFor(Runtime.getRuntime().maxMemory()));
  }

  /** Heap one usable listener id takes on the server (its ticket, map entry, id string). */
  static final int BYTES_PER_LISTENER_ID = 200;

  /** The listener ids a heap of {@code maxHeapBytes} holds in an eighth of it, at most 1,000,000. */
  static int listenerIdsFor(long maxHeapBytes) {
    return (int) Math.max(1, Math.min(1_000_000, maxHeapBytes / 8 / BYTES_PER_LISTENER_ID));
  }

  /** A copy with other session caps. */
  public ListenLimits withSessions(int perAddress, int total) {
    return new ListenLimits(perAddress, total, outboundBudgetBytes, globalOutboundBytes, stallTimeout, maxListenerIds);
  }

  /** A copy with another outbound budget and stall timeout. */
  public ListenLimits withOutbound(long perSessionBytes, long globalBytes, Duration stall) {
    return new ListenLimits(maxSessionsPerAddress, maxSessions, perSessionBytes, globalBytes, stall, maxListenerIds);
  }

  /** A copy with another global listener id cap. */
  public ListenLimits withMaxListenerIds(int n) {
    return new ListenLimits(maxSessionsPerAddress, maxSessions, outboundBudgetBytes, globalOutboundBytes,
        stallTimeout, n);
  }
}
