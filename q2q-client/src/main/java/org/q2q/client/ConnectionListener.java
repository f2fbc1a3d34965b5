package org.q2q.client;

import org.q2q.certstore.Address;

/**
 * Observes how {@link Q2qClient#connect} gets connected: the session reuse, the Inbound answer,
 * and each connection method tried. Calls nest as {@code connectStart} → ({@code sessionReused} |
 * {@code attemptStart} → ({@code attemptFailed} | {@code attemptWon})...) → {@code connectEnd} |
 * {@code connectFailed}. Methods must be fast, must not throw and may be called from any thread.
 */
public interface ConnectionListener {
  /** A listener that ignores everything. */
  ConnectionListener NONE = new ConnectionListener() {};

  /** {@code connect(to, service)} started. */
  default void connectStart(Address to, String service) {}

  /** An existing peer session with {@code to} is reused; no new transport is made. */
  default void sessionReused(Address to, String transport) {}

  /** The presence server of {@code to} answered Inbound with {@code listeners} listener(s). */
  default void inboundAnswered(Address to, String service, int listeners) {}

  /** A connection method attempt started, e.g. {@code "relay via localhost:8788"}. */
  default void attemptStart(Address to, String method) {}

  /** A connection method attempt failed or was cancelled. */
  default void attemptFailed(Address to, String method, Throwable cause) {}

  /** A method's transport carried a verified TLS handshake first; it carries the session. */
  default void attemptWon(Address to, String method) {}

  /** A channel to {@code to}'s {@code service} is open. */
  default void connectEnd(VirtualChannel channel) {}

  /** The connect failed. */
  default void connectFailed(Address to, String service, Throwable cause) {}
}
