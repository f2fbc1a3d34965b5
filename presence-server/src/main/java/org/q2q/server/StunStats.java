package org.q2q.server;

/**
 * Counters of the server's UDP port since it was bound.
 *
 * @param datagrams datagrams received
 * @param answers Binding success responses sent
 * @param dropped datagrams not answered because they were not a Binding request this server
 *     answers (garbage, truncated or oversized STUN, other methods, PTCP...)
 * @param rateLimited valid Binding requests not answered because the source's (or the port's)
 *     answer budget was spent
 * @param bytesIn bytes received (all datagrams)
 * @param bytesAnsweredRequests bytes of the requests that were answered
 * @param bytesOut bytes sent (all answers)
 */
public record StunStats(
    long datagrams, long answers, long dropped, long rateLimited, long bytesIn, long bytesAnsweredRequests,
    long bytesOut) {}
