/**
 * STUN Binding (RFC 8489) as a sans-IO codec, shared by the presence server (answers on its UDP
 * port) and the client (asks from its PTCP socket to learn its NAT mapping). Not a full STUN stack:
 * no authentication, no TURN, no error responses.
 */
package org.q2q.stun;
