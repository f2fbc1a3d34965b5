package org.q2q.server.presence;

/**
 * The relay's bounds for the whole server, on top of the per-address ones in {@link PresenceConfig},
 * so that many accounts together (cheap with open registration) cannot grow the relay without
 * limit; and the relay socket's buffering.
 *
 * @param maxStreams relay streams and sockets open at once once their caller is known, all
 *     addresses together (two per relayed connection)
 * @param maxAnonymousStreams relay streams and sockets whose caller or hello is not known yet (TLS
 *     handshake, federation lookup, waiting for the hello), all together; past it new ones are
 *     refused at once
 * @param maxBytesInFlight bytes held by the relay between receiving them from one side and handing
 *     them to the other side's socket, all addresses together
 * @param socketHighWaterBytes bytes the relay socket queues toward a receiver before it stops
 *     reading from the sender (the sender is slowed, not dropped); with one read of at most {@link
 *     #SOCKET_READ_BYTES} this bounds one direction's memory
 */
public record RelayCaps(int maxStreams, int maxAnonymousStreams, long maxBytesInFlight, int socketHighWaterBytes) {
  /** The largest single read of a relay socket. */
  public static final int SOCKET_READ_BYTES = 256 << 10;

  public RelayCaps {
    if (maxStreams < 2 || maxAnonymousStreams < 1 || maxBytesInFlight < 1 || socketHighWaterBytes < 1) {
      throw new IllegalArgumentException("relay caps must be positive (streams at least 2): " + maxStreams + ", "
          + maxAnonymousStreams + ", " + maxBytesInFlight + ", " + socketHighWaterBytes);
    }
  }

  /** Relayed connections (pairs of streams or sockets) held at once, by default. */
  public static final int DEFAULT_MAX_PAIRS = 8192;

  /**
   * {@value #DEFAULT_MAX_PAIRS} relayed connections ({@code 2 x} that many streams or sockets: an
   * idle pair on the relay socket costs about 7 KiB of heap and 30 KiB of resident memory, and two
   * file descriptors; bench/capacity.sh --relay-pairs), 256 waiting for their hello, 256 MiB in
   * flight, 512 KiB queued per socket direction.
   */
  public static RelayCaps defaults() {
    return new RelayCaps(2 * DEFAULT_MAX_PAIRS, 256, 256L << 20, 512 << 10);
  }

  /** A copy holding at most {@code pairs} relayed connections (two streams or sockets each). */
  public RelayCaps withMaxPairs(int pairs) {
    if (pairs < 1) {
      throw new IllegalArgumentException("relayed connections must be at least 1: " + pairs);
    }
    return new RelayCaps((int) Math.min(Integer.MAX_VALUE, 2L * pairs), maxAnonymousStreams, maxBytesInFlight,
        socketHighWaterBytes);
  }
}
