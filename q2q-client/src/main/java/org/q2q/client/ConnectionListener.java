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

  /** An existing peer session with {@code to}, carried by {@code route}, is reused; no new transport is made. */
  default void sessionReused(Address to, Route route) {}

  /** The presence server of {@code to} answered Inbound with {@code listeners} listener(s). */
  default void inboundAnswered(Address to, String service, int listeners) {}

  /** An attempt over {@code route} started (e.g. direct tcp to one of the listener's addresses). */
  default void attemptStart(Address to, Route route) {}

  /** A step of the attempt over {@code route} (e.g. a hole-punching round), for people watching. */
  default void attemptProgress(Address to, Route route, String step) {}

  /** The attempt over {@code route} failed, or lost the race and was cancelled; {@code cause} says which. */
  default void attemptFailed(Address to, Route route, Throwable cause) {}

  /** The attempt over {@code route} was the first to verify the peer; it carries the session. */
  default void attemptWon(Address to, Route route) {}

  /** A channel to {@code to}'s {@code service} is open. */
  default void connectEnd(VirtualChannel channel) {}

  /** The connect failed. */
  default void connectFailed(Address to, String service, Throwable cause) {}
}
