package org.q2q.client.internal.connect;

import java.util.concurrent.CompletableFuture;
import org.q2q.client.Route;

/**
 * One attempt to reach a listener by one connection method, in two phases: <em>reach</em> (a
 * reliable byte pipe: a TCP socket, a PTCP stream, a relay stream) and <em>secure</em> (the peer
 * session's mutual TLS over it, verifying the expected peer). Used once; thread-safe.
 *
 * @param <S> what a successful attempt yields (a peer session)
 */
public interface ConnectPlan<S> {
  /** The route this attempt tries, for people and events. */
  Route route();

  /** Runs both phases. The future fails with an exception whose message says what went wrong. */
  CompletableFuture<S> attempt();

  /**
   * Completes when the reach phase is done and the attempt is securing (its transport is up), so
   * the racer can hold back later attempts meanwhile. Default: never (no signal).
   */
  default CompletableFuture<?> reached() {
    return new CompletableFuture<>();
  }

  /** Abandons the attempt (closes whatever it opened). Idempotent; harmless after completion. */
  void cancel();
}
