package org.q2q.client;

import java.util.concurrent.CompletableFuture;

/**
 * A service offered by a {@link Q2qClient}. It stays registered, across reconnections of the
 * presence session, until closed. Safe for concurrent use.
 */
public interface ListenerRegistration extends AutoCloseable {
  /** The service name. */
  String service();

  /**
   * Completes once the presence server has confirmed the registration (its {@code Registered}
   * message lists the service), so peers can reach it; fails if the server refused it or the
   * client was closed first.
   */
  CompletableFuture<Void> ready();

  /** Withdraws the service; channels already accepted stay open. Idempotent. */
  @Override
  void close();
}
