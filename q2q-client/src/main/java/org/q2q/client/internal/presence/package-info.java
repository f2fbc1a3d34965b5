/**
 * Not API: the presence session, one long-lived {@code Presence.Listen} stream per client to its
 * own domain's server (services offered, heartbeats, reconnection with jittered backoff, answers
 * to the server's Inbound queries and relay-open notices).
 */
package org.q2q.client.internal.presence;
