package org.q2q.server.internal.presence;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.q2q.certstore.Address;

/**
 * Listener ids: 128 random bits from {@link SecureRandom}, base64url without padding (22 chars),
 * each standing for one {@link ListenerTicket}. An id is usable by the address it was issued to,
 * until it expires, once ({@link #consume}). Vertex's ids were a predictable counter
 * ({@code from->to:n}); these are not guessable. Safe for concurrent use.
 */
public final class ListenerTickets {
  /** Random bits per id. */
  public static final int ID_BITS = 128;
  /** Sweep expired tickets every this many issues (keeps the table bounded by the issue rate). */
  private static final int SWEEP_EVERY = 256;

  private final SecureRandom random = new SecureRandom();
  private final Clock clock;
  private final Duration ttl;
  /** Usable tickets by id. */
  private final Map<String, ListenerTicket> tickets = new ConcurrentHashMap<>();
  private final AtomicInteger issues = new AtomicInteger();

  public ListenerTickets(Clock clock, Duration ttl) {
    this.clock = clock;
    this.ttl = ttl;
  }

  /** A fresh id (not yet usable: {@link #activate} it once the listener accepted). */
  public String newId() {
    byte[] b = new byte[ID_BITS / 8];
    random.nextBytes(b);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
  }

  /** The expiry of an id issued now. */
  public Instant expiryFromNow() {
    return clock.instant().plus(ttl);
  }

  /** Makes {@code ticket} usable. */
  public void activate(ListenerTicket ticket) {
    tickets.put(ticket.id(), ticket);
    if (issues.incrementAndGet() % SWEEP_EVERY == 0) {
      sweep();
    }
  }

  /** Drops every expired ticket. */
  public void sweep() {
    Instant now = clock.instant();
    tickets.values().removeIf(t -> !now.isBefore(t.expires()));
  }

  /**
   * The ticket of {@code id} if {@code caller} may use it now (it stays usable).
   *
   * @throws StatusRuntimeException NOT_FOUND (unknown, used or expired) or PERMISSION_DENIED (issued
   *     to another address)
   */
  public ListenerTicket peek(String id, Address caller) {
    ListenerTicket t = tickets.get(id);
    if (t == null) {
      throw Status.NOT_FOUND
          .withDescription("listener id '" + shorten(id) + "' is unknown or was already used")
          .asRuntimeException();
    }
    if (!t.from().equals(caller)) {
      throw Status.PERMISSION_DENIED
          .withDescription("listener id '" + shorten(id) + "' was not issued to " + caller)
          .asRuntimeException();
    }
    if (!clock.instant().isBefore(t.expires())) {
      tickets.remove(id, t);
      throw Status.NOT_FOUND
          .withDescription("listener id '" + shorten(id) + "' expired at " + t.expires())
          .asRuntimeException();
    }
    return t;
  }

  /**
   * Uses up {@code id} for {@code caller}: after this no one can use it again.
   *
   * @throws StatusRuntimeException as {@link #peek}
   */
  public ListenerTicket consume(String id, Address caller) {
    ListenerTicket t = peek(id, caller);
    if (!tickets.remove(id, t)) {
      throw Status.NOT_FOUND
          .withDescription("listener id '" + shorten(id) + "' was already used")
          .asRuntimeException();
    }
    return t;
  }

  /** Usable tickets right now (expired ones not yet swept included). */
  public int size() {
    return tickets.size();
  }

  /** An id cut short for messages and logs (never echo an unbounded client string). */
  public static String shorten(String id) {
    return id.length() <= 32 ? id : id.substring(0, 32) + "...";
  }
}
