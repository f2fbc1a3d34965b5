/**
 * Not API: getting connected. Inbound at the peer's domain server, then a race of the listener's
 * connection methods (plans with a reach phase and a secure phase, DESIGN.md "Getting connected").
 */
package org.q2q.client.internal.connect;
