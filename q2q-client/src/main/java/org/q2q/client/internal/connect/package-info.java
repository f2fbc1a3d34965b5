/**
 * Not API: getting connected (the connecting side). Inbound at the peer's domain server, then a
 * race of the listener's connection methods: one {@link org.q2q.client.internal.connect.ConnectMethod}
 * per kind turns advertised methods into plans with a reach phase and a secure phase (DESIGN.md
 * "Getting connected"), all under one {@link org.q2q.client.internal.connect.Deadline}.
 */
package org.q2q.client.internal.connect;
