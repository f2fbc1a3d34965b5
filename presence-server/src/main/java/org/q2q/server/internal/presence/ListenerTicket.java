package org.q2q.server.internal.presence;

import java.time.Instant;
import org.q2q.certstore.Address;

/**
 * What a listener id stands for: one connection attempt of {@code from} to the listener on
 * {@code session} for {@code (to, service)}, usable until {@code expires}.
 */
public record ListenerTicket(
    String id, Address from, Address to, String service, ListenSession session, Instant expires) {}
