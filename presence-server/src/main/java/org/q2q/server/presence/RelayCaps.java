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

  /**
   * 4096 streams (2048 relayed connections), 256 waiting for their hello, 256 MiB in flight, 512 KiB
   * queued per socket direction.
   */
  public static RelayCaps defaults() {
    return new RelayCaps(4096, 256, 256L << 20, 512 << 10);
  }
}
