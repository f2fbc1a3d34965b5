/**
 * Not API. The presence server's UDP port: STUN Binding answers (the reflexive address a client's
 * NAT gives its PTCP socket), with bounded amplification and per-source rate limits.
 */
package org.q2q.server.internal.stun;
