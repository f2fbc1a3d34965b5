package org.q2q.client.internal.accept;

import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.q2q.certstore.Address;
import org.q2q.client.internal.peer.ListenerIdCheck;

/**
 * The listener ids this client accepted in Inbound answers and not yet used: each names one
 * connection attempt of one peer to one service, and serves exactly one peer session, whichever
 * transport (relay, direct or reverse TCP) carries it. Bounded: at most {@link #MAX_PENDING} at
 * once (the oldest expire first; more are refused by {@link #offer}). Thread-safe.
 */
public final class ListenerIds implements ListenerIdCheck {
  /**
   * How long an accepted id waits for the connector when the server does not say (a server older
   * than InboundQuery.listener_id_lifetime_millis); the server's own default ticket lifetime.
   */
  public static final Duration DEFAULT_LIFETIME = Duration.ofSeconds(60);
  /** The longest a server may ask an id to be kept: the bound above holds ids, not their age. */
  static final Duration MAX_LIFETIME = Duration.ofMinutes(10);
  /** Accepted ids kept at once; an Inbound flood cannot grow this client without bound. */
  static final int MAX_PENDING = 4096;

  /** An accepted id: who may use it, for which service, until when, and where its UDP is. */
  public record Pending(Address from, String service, long expiresMillis, java.util.List<org.q2q.proto.HostPort> udp) {}

  private final Clock clock;
  private final Map<String, Pending> pending = new ConcurrentHashMap<>();

  public ListenerIds(Clock clock) {
    this.clock = clock;
  }

  /**
   * Remembers {@code id} as accepted for {@code from}'s {@code service}.
   *
   * @return false if too many ids are pending (the Inbound should be declined)
   */
  public boolean offer(String id, Address from, String service) {
    return offer(id, from, service, java.util.List.of(), 0);
  }

  /**
   * Like {@link #offer(String, Address, String)}, remembering the connector's UDP candidates for
   * punching.
   *
   * @param lifetimeMillis how long the server honours the id (from its InboundQuery), 0 if it did
   *     not say ({@link #DEFAULT_LIFETIME}); at most {@link #MAX_LIFETIME}
   */
  public boolean offer(String id, Address from, String service, java.util.List<org.q2q.proto.HostPort> udp,
      long lifetimeMillis) {
    long now = clock.millis();
    pending.values().removeIf(p -> p.expiresMillis() < now);
    if (pending.size() >= MAX_PENDING) {
      return false;
    }
    long lifetime = lifetimeMillis <= 0 ? DEFAULT_LIFETIME.toMillis() : Math.min(lifetimeMillis, MAX_LIFETIME.toMillis());
    pending.put(id, new Pending(from, service, now + lifetime, java.util.List.copyOf(udp)));
    return true;
  }

  /** The pending entry of {@code id}, whoever asks, or null (unknown, used or expired). */
  public Pending get(String id) {
    Pending p = pending.get(id);
    return p != null && p.expiresMillis() >= clock.millis() ? p : null;
  }

  /** Whether {@code id} is still waiting for its session (accepted, unexpired, unused). */
  public boolean isPending(String id) {
    Pending p = pending.get(id);
    return p != null && p.expiresMillis() >= clock.millis();
  }

  /** The pending entry of {@code id} if {@code from} may use it, without using it. */
  public Pending peek(String id, Address from) {
    Pending p = pending.get(id);
    return p != null && p.expiresMillis() >= clock.millis() && p.from().equals(from) ? p : null;
  }

  @Override
  public String claim(String id, Address peer) {
    if (id == null || id.isEmpty()) {
      return "no listener id: ask the presence server (Inbound) first";
    }
    Pending p = pending.get(id);
    if (p == null) {
      return "unknown or already used listener id";
    }
    if (p.expiresMillis() < clock.millis()) {
      pending.remove(id, p);
      return "expired listener id";
    }
    if (!p.from().equals(peer)) {
      return "the listener id was issued to another address";
    }
    return pending.remove(id, p) ? null : "listener id already used";
  }
}
