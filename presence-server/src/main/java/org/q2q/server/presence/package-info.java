/**
 * The Presence gRPC service: Listen sessions, Inbound fan-out to listeners, BindUdp forwarding and
 * the relay splice, plus federation (learning foreign domains' CAs). API: {@link
 * org.q2q.server.presence.PresenceService}, {@link org.q2q.server.presence.PresenceConfig} and the
 * hooks they take. {@link org.q2q.server.PresenceServer} runs it by default.
 *
 * <h2>Behaviour clients can rely on</h2>
 *
 * <ul>
 *   <li><b>Listen</b>: only for a user address of this server's domain (a foreign or domain
 *       certificate: PERMISSION_DENIED; none: UNAUTHENTICATED). Every Offer and Withdraw is answered
 *       with Registered listing all services of the stream; heartbeats are echoed; a stream silent
 *       for 120 s (no heartbeat or anything else) is ended with UNAVAILABLE. A bad service
 *       name (empty, over 64 chars, whitespace, '/', control characters, leading '.') ends the
 *       stream with INVALID_ARGUMENT; more than 256 services, or more than 32 Listen streams of one
 *       address: RESOURCE_EXHAUSTED. Registrations end
 *       with the stream; server shutdown ends it with UNAVAILABLE "the server is shutting down".
 *   <li><b>Inbound</b>: {@code from} is the caller's certificate address. No listener: NOT_FOUND
 *       naming address and service. Every Listen stream of (to, service) gets an InboundQuery with
 *       its own listener id; answers are awaited 5 s. All declined: PERMISSION_DENIED with the
 *       reasons; none answered: UNAVAILABLE. Listener ids: 128 bits from SecureRandom, base64url
 *       without padding (22 chars), usable for 60 s, only by the caller they were issued to,
 *       once (by the relay); a caller holding 1024 unused ids gets RESOURCE_EXHAUSTED. Methods
 *       are passed through untouched (unknown kinds included), and a relay method is appended
 *       unless the listener listed one.
 *   <li><b>BindUdp</b>: forwarded to the listener that accepted the id (the id is not used up);
 *       its error string or a 5 s silence: UNAVAILABLE.
 *   <li><b>Relay</b>: the first frame must be a hello. CONNECTOR: the id must be usable by the
 *       caller (else NOT_FOUND, or PERMISSION_DENIED if issued to another address) and is used
 *       up; the listener gets RelayOpen on its Listen stream and must open its LISTENER stream
 *       within 10 s (else the connector gets UNAVAILABLE). Both get RelaySpliced, then data frames
 *       are forwarded unread. Frames sent before RelaySpliced wait in gRPC flow control (the
 *       server does not read them until spliced). A side's half-close (onCompleted) completes the
 *       other side's call after the frames already received; the half-closing side's call then
 *       completes too (a gRPC server call cannot outlive its response stream). A cancel or error
 *       ends the other side with CANCELLED naming who left. Limits: 64 relay streams per address,
 *       16 MiB queued per address, frames up to 1 MiB (RESOURCE_EXHAUSTED past them).
 * </ul>
 *
 * <h2>Memory and throughput knobs ({@link org.q2q.server.presence.PresenceConfig})</h2>
 *
 * The relay asks a sender for at most {@code relayWindowFrames} (4) frames ahead, only while the
 * receiver's gRPC stream is ready, and writes to the receiver only while it is ready; gRPC reports
 * not-ready past {@code relayReadyThresholdBytes} (128 KiB) buffered toward a client. So a stalled
 * receiver holds per relay direction at most: the window in the relay's queue (counted in {@link
 * org.q2q.server.presence.RelayStats#bytesInFlight()}), the ready threshold plus one frame in
 * gRPC's outbound buffer, and the HTTP/2 receive window of the sender's stream. Clients should send
 * 16-64 KiB frames. {@link org.q2q.server.presence.PresenceService#relayStats()} (also via {@code
 * PresenceServer.presence()}) exposes the counters and the queue's high-water mark for benchmarks;
 * {@link org.q2q.server.presence.RelayTap} lets tests see every relayed frame.
 *
 * <h2>Federation</h2>
 *
 * A caller whose certificate names a foreign domain with no known CA is verified after the server
 * learns that CA: Identify against the domain's server ({@link
 * org.q2q.server.presence.DomainServerLocator}: an explicit map, else {@code <domain>:8788}), whose
 * TLS certificate must validate against the returned CA and name the domain; the CA is then pinned
 * in {@link org.q2q.server.DomainCas} (trust on first use; a different CA later is refused) and,
 * under {@code PresenceServer}, in its database ({@link org.q2q.server.DatabaseCaPins}), so a pin
 * survives restarts, holds on every node of the domain, and is used without asking the network
 * again. Failures are remembered for
 * 10 s, and at most 16 lookups run at once (any caller can name any domain). Failure:
 * UNAUTHENTICATED naming the domain.
 */
package org.q2q.server.presence;
