package org.q2q.client.internal.peer;

import org.q2q.certstore.Address;

/**
 * The accepting side's hook into the handshake: a transport that reached us directly says which
 * Inbound answer it belongs to only in the initiator's Hello, after TLS verified who the peer is.
 */
@FunctionalInterface
public interface ListenerIdCheck {
  /**
   * Claims {@code listenerId} for a session with {@code peer} (single use).
   *
   * @return null if the session may go on, else why it is refused (sent to the peer)
   */
  String claim(String listenerId, Address peer);
}
