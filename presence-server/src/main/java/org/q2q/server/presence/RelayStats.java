package org.q2q.server.presence;

/**
 * A snapshot of the relay's counters, for benchmarks and tests.
 *
 * @param activeStreams relay streams currently open (both roles, spliced or waiting)
 * @param splices relays joined since start
 * @param bytesInFlight bytes received from one side and not yet handed to the other side's transport
 *     (the relay's own queue; at most 4 frames per direction per splice)
 * @param bytesInFlightHighWater the highest {@code bytesInFlight} seen since start
 * @param bytesRelayed data bytes forwarded since start
 */
public record RelayStats(
    int activeStreams, long splices, long bytesInFlight, long bytesInFlightHighWater, long bytesRelayed) {}
