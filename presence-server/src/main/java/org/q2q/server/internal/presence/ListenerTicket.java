package org.q2q.server.internal.presence;

import java.time.Instant;
import java.util.concurrent.atomic.AtomicInteger;
import org.q2q.certstore.Address;

/**
 * What a listener id stands for: one connection attempt of {@code from} to the listener on
 * {@code session} for {@code (to, service)}, usable until {@code expires}; {@code udpCandidates}
 * are the addresses the connector announced in that Inbound (the only ones BindUdp may aim at),
 * and {@code bindUdpCalls} counts the BindUdp calls made with the id (bounded).
 */
public record ListenerTicket(
    String id, Address from, Address to, String service, ListenSession session, Instant expires,
    UdpCandidates udpCandidates, AtomicInteger bindUdpCalls) {

  /** A ticket with no BindUdp call made yet. */
  public ListenerTicket(String id, Address from, Address to, String service, ListenSession session, Instant expires,
      UdpCandidates udpCandidates) {
    this(id, from, to, service, session, expires, udpCandidates, new AtomicInteger());
  }
}
