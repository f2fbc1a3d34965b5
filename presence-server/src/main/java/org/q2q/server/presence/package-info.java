/**
 * The Presence gRPC service: Listen sessions, Inbound fan-out to listeners, BindUdp forwarding and
 * the relay splice, plus federation (learning foreign domains' CAs). API: {@link
 * org.q2q.server.presence.PresenceService}, {@link org.q2q.server.presence.PresenceConfig} and the
 * hooks they take.
 */
package org.q2q.server.presence;
