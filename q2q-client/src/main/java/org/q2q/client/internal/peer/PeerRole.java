package org.q2q.client.internal.peer;

/** Which end of a peer session this side is; decides the TLS role and channel id parity. */
public enum PeerRole {
  /** Reached out to the peer: TLS client, sends the listener id in Hello, opens odd channel ids. */
  INITIATOR,
  /** Was reached: TLS server (client certificate required), opens even channel ids. */
  ACCEPTOR;

  /** The first channel id this role allocates (ids then go up by two). */
  long firstChannelId() {
    return this == INITIATOR ? 1 : 2;
  }

  /** True if {@code id} has the parity of ids this role opens. */
  boolean opens(long id) {
    return (id & 1) == (firstChannelId() & 1);
  }
}
