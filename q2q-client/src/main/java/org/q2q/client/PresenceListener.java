package org.q2q.client;

/**
 * Observes a client's {@link PresenceState}. Called on an internal thread, one call at a time, in
 * order; must be fast and must not throw (exceptions are logged and ignored).
 */
@FunctionalInterface
public interface PresenceListener {
  /**
   * The state changed.
   *
   * @param state the new state
   * @param detail why, for people (e.g. the error that ended the stream); may be empty
   */
  void presenceChanged(PresenceState state, String detail);
}
