package org.q2q.server;

import java.time.Duration;
import java.util.Objects;

/**
 * Bounds on the server's TCP connections and HTTP/2 streams, so that an anonymous client cannot
 * exhaust file descriptors or memory (the client certificate is optional, so TLS alone admits
 * anyone).
 *
 * @param maxPerNetwork connections from one client network (IPv4 address, IPv6 /64) at once;
 *     more are closed as soon as they are accepted, before any TLS work
 * @param maxTotal connections at once from everyone
 * @param maxCallsPerConnection concurrent calls (HTTP/2 streams) on one connection
 * @param maxIdle a connection without calls for this long is closed (GOAWAY)
 * @param handshakeTimeout a connection that has not finished its TLS and HTTP/2 handshake in this
 *     time is closed (slowloris)
 */
public record ConnectionLimits(
    int maxPerNetwork, int maxTotal, int maxCallsPerConnection, Duration maxIdle, Duration handshakeTimeout) {

  public ConnectionLimits {
    if (maxPerNetwork < 1 || maxTotal < 1 || maxCallsPerConnection < 1) {
      throw new IllegalArgumentException("connection limits must be at least 1: " + maxPerNetwork + ", "
          + maxTotal + ", " + maxCallsPerConnection);
    }
    positive(maxIdle, "maxIdle");
    positive(handshakeTimeout, "handshakeTimeout");
  }

  /**
   * 256 connections per client network and 20,000 in all (room for the 50,000 Listen sessions of
   * {@link org.q2q.server.presence.ListenLimits#defaults()} at five per connection, and their
   * callers; about 21 KiB of heap each), 100 calls per connection, 5 min idle, a 10 s handshake.
   */
  public static ConnectionLimits defaults() {
    return new ConnectionLimits(256, 20_000, 100, Duration.ofMinutes(5), Duration.ofSeconds(10));
  }

  /** A copy with other connection counts. */
  public ConnectionLimits withConnections(int perNetwork, int total) {
    return new ConnectionLimits(perNetwork, total, maxCallsPerConnection, maxIdle, handshakeTimeout);
  }

  /** A copy with another per-connection call cap. */
  public ConnectionLimits withCallsPerConnection(int calls) {
    return new ConnectionLimits(maxPerNetwork, maxTotal, calls, maxIdle, handshakeTimeout);
  }

  /** A copy with other idle and handshake timeouts. */
  public ConnectionLimits withTimeouts(Duration idle, Duration handshake) {
    return new ConnectionLimits(maxPerNetwork, maxTotal, maxCallsPerConnection, idle, handshake);
  }

  private static void positive(Duration d, String name) {
    Objects.requireNonNull(d, name);
    if (d.isNegative() || d.isZero()) {
      throw new IllegalArgumentException(name + " must be positive, got " + d);
    }
  }
}
