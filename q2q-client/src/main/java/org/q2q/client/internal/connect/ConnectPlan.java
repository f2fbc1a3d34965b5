package org.q2q.client.internal.connect;

import java.util.concurrent.CompletableFuture;

/**
 * One attempt to reach a listener by one connection method, in two phases: <em>reach</em> (a
 * reliable byte pipe: a TCP socket, a PTCP stream, a relay stream) and <em>secure</em> (the peer
 * session's mutual TLS over it, verifying the expected peer). Used once; thread-safe.
 *
 * @param <S> what a successful attempt yields (a peer session)
 */
public interface ConnectPlan<S> {
  /** The method, for people: e.g. {@code "relay via 127.0.0.1:8788"}. */
  String method();

  /** Runs both phases. The future fails with an exception whose message says what went wrong. */
  CompletableFuture<S> attempt();

  /** Abandons the attempt (closes whatever it opened). Idempotent; harmless after completion. */
  void cancel();
}
