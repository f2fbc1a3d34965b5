package org.q2q.client.forward;

import java.time.Duration;

/**
 * What happened to one forwarded connection, reported when it ends.
 *
 * @param id the connection's log id ({@code fwd-3}, {@code exp-7}, ...)
 * @param peer the q2q address at the other end of the tunnel
 * @param from where the TCP side is ({@code host:port}); for an exposed service, where the peer's
 *     session comes from ({@code from host:port} when direct, {@code via relay:server} when relayed)
 * @param sent bytes read from the TCP side and sent to the peer
 * @param received bytes received from the peer and written to the TCP side
 * @param duration how long the connection lasted
 * @param outcome {@code "closed"} after a clean end in both directions, else why it ended
 */
public record ConnectionRecord(String id, String peer, String from, long sent, long received, Duration duration,
    String outcome) {
  /** True if both directions ended cleanly. */
  public boolean clean() {
    return "closed".equals(outcome);
  }
}
