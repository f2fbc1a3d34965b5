package org.q2q.client;

/**
 * The state of a client's presence session (its Listen stream to its own domain's server), as seen
 * through {@link Q2qClient#presenceState()} and {@link PresenceListener}.
 *
 * <pre>
 * IDLE --listen()--> CONNECTING --server answers--> ONLINE --stream lost--> RECONNECTING --> ONLINE ...
 *   any state --close()--> CLOSED
 * </pre>
 */
public enum PresenceState {
  /** No listener registered yet, so no presence session is needed (connect works without one). */
  IDLE,
  /** The first Listen stream is being opened. */
  CONNECTING,
  /** The server answers on the Listen stream; registered services are reachable. */
  ONLINE,
  /** The stream was lost; the client retries with jittered backoff and re-registers its services. */
  RECONNECTING,
  /** The client was closed. */
  CLOSED
}
