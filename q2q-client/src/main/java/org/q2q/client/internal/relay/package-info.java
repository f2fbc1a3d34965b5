/**
 * Not API: the relay transport. A {@link org.q2q.client.internal.relay.RelayChannel} is a Netty
 * {@code Channel} whose bytes travel in a gRPC {@code Presence.Relay} stream that the presence
 * server splices to the other peer's stream, so the peer session runs over it unchanged.
 */
package org.q2q.client.internal.relay;
