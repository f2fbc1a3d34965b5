package org.q2q.client.forward;

import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import java.net.InetSocketAddress;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.q2q.certstore.ServiceName;
import org.q2q.client.AcceptPolicy;
import org.q2q.client.ListenerRegistration;
import org.q2q.client.Q2qClient;
import org.q2q.client.VirtualChannel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Offers a TCP service ({@code host:port}, on this machine or one it reaches) as {@code
 * ADDRESS/SERVICE}: each channel an allowed peer opens is spliced to a new connection to the
 * target, on the channel's event loop.
 *
 * <ul>
 *   <li>Peers outside the {@link AllowList} are declined with the reason (they see it).
 *   <li>If the target refuses or cannot be reached, that channel is reset with the reason.
 *   <li>Beyond the connection limit new channels are reset ("busy") with one log line.
 * </ul>
 *
 * Safe for concurrent use.
 */
public final class Exposer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Exposer.class);
  private static final AtomicLong IDS = new AtomicLong();
  /** How long connecting to the target may take. */

  private final Q2qClient client;
  private final String service;
  private final HostPort target;
  private final AllowList allow;
  private final TunnelEvents events;
  private final ConnectionLimit limit;
  private final Set<Splice> running = ConcurrentHashMap.newKeySet();
  private ListenerRegistration registration;

  private Exposer(Q2qClient client, String service, HostPort target, AllowList allow, int maxConnections,
      TunnelEvents events) {
    this.client = client;
    this.service = service;
    this.target = target;
    this.allow = allow;
    this.events = events;
    this.limit = new ConnectionLimit("exposer " + client.address() + "/" + service, maxConnections, false, events);
  }

  /**
   * Starts offering {@code target} as {@code service} at the client's address.
   *
   * @param maxConnections the most connections carried at once; more are refused
   * @throws IllegalArgumentException for an invalid service name
   * @throws IllegalStateException if the client already offers {@code service}
   */
  public static Exposer start(Q2qClient client, String service, HostPort target, AllowList allow, int maxConnections,
      TunnelEvents events) {
    Objects.requireNonNull(client, "client");
    ServiceName.check(service);
    Exposer e = new Exposer(client, service, Objects.requireNonNull(target, "target"),
        Objects.requireNonNull(allow, "allow"), maxConnections, Objects.requireNonNull(events, "events"));
    AcceptPolicy policy = (from, svc) -> {
      AcceptPolicy.Decision d = allow.decide(from, svc);
      if (!d.accepted()) {
        log.info("{}/{}: refused {}: {}", client.address(), service, from, d.reason());
        events.refused(from.toString(), d.reason());
      }
      return d;
    };
    e.registration = client.listen(service, "q2q expose: TCP service " + target, policy, e::accepted);
    return e;
  }

  /** Completes once the presence server confirmed the registration; fails if it refused it. */
  public CompletableFuture<Void> ready() {
    return registration.ready();
  }

  /** Withdraws the service and aborts the running connections. Idempotent. */
  @Override
  public void close() {
    registration.close();
    for (Splice s : running) {
      s.abort("the exposer is closing");
    }
  }

  private void accepted(VirtualChannel vc) {
    String id = "exp-" + IDS.incrementAndGet();
    String peer = vc.remoteAddress().toString();
    String from = Causes.from(vc);
    if (!limit.tryAcquire()) {
      vc.reset("busy: " + client.address() + "/" + service + " carries its limit of " + limit.max() + " connections");
      events.failed(id, peer, from, "connection limit reached");
      return;
    }
    // Resolved here, on the handler thread: a slow DNS answer must not block an event loop.
    InetSocketAddress addr = new InetSocketAddress(target.host(), target.port());
    ChannelFuture connect = SocketLoops.dial(vc, client.eventLoopGroup(), addr);
    connect.addListener(f -> {
      if (!f.isSuccess()) {
        String reason = "cannot reach " + target + ": " + Causes.connectFailure(f.cause());
        log.info("{} {} {}: {}", id, peer, service, reason);
        vc.reset(reason);
        limit.release();
        events.failed(id, peer, from, reason);
        return;
      }
      Channel socket = connect.channel();
      Splice s = Splice.start(id, socket, vc, from, null);
      running.add(s);
      events.opened(id, peer, from);
      s.done().thenAccept(rec -> {
        running.remove(s);
        limit.release();
        log.info("{} {} {} -> {} {}: {} bytes sent, {} received in {} ms", id, peer, service, target, rec.outcome(),
            rec.sent(), rec.received(), rec.duration().toMillis());
        events.closed(rec);
      });
    });
  }
}
