/**
 * Not API: the listening side of the connection methods. The client's transport acceptors (one
 * TCP server socket, one UDP socket for PTCP) advertise where peers may reach it, hand accepted
 * transports to the peer-session layer, and check the listener id each one names against the
 * Inbound answers this client gave ({@link org.q2q.client.internal.accept.ListenerIds}).
 */
package org.q2q.client.internal.accept;
