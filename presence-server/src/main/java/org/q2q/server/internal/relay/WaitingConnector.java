package org.q2q.server.internal.relay;

import org.q2q.server.internal.presence.ListenerTicket;

/** A connector waiting for its listener to join, on either relay path (Relay RPC or relay socket). */
sealed interface WaitingConnector permits RelaySplice, SocketSplice {
  /** The listener id's ticket the connector used up. */
  ListenerTicket ticket();
}
