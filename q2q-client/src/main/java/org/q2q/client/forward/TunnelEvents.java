package org.q2q.client.forward;

/**
 * Observes a forwarder, exposer or gateway, e.g. to print a line per connection. Called on event
 * loops or the client's handler threads: implementations must be quick, must not block and must be
 * safe for concurrent use. Every method has a no-op default.
 */
public interface TunnelEvents {
  /** Observes nothing. */
  TunnelEvents NONE = new TunnelEvents() {};

  /** A connection is spliced and running. */
  default void opened(String id, String peer, String from) {}

  /** A connection ended (cleanly or not); {@code r} has its byte counts and duration. */
  default void closed(ConnectionRecord r) {}

  /** A connection could not be set up (peer unreachable, target refused, ...); it was closed. */
  default void failed(String id, String peer, String from, String reason) {}

  /** A peer was refused by the allow list. */
  default void refused(String peer, String reason) {}

  /** A gateway opened {@code bound} ({@code host:port}) for {@code caller}. */
  default void portOpened(String caller, String bound) {}

  /** A gateway closed the port it had opened for {@code caller}. */
  default void portClosed(String caller, String bound, String why) {}

  /** The connection limit was reached; {@code waiting} says whether new connections wait or are refused. */
  default void limitReached(int limit, boolean waiting) {}
}
