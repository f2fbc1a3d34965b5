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
  /**
   * Unused ids one caller may hold at once (a soft limit checked before Inbound asks listeners), so
   * that one address calling Inbound in a loop cannot fill the server's memory for 120 s.
   */
  public static final int MAX_PER_CALLER = 1024;

  private final SecureRandom random = new SecureRandom();
  private final Clock clock;
  private final Duration ttl;
  /** Usable tickets by id. */
  private final Map<String, ListenerTicket> tickets = new ConcurrentHashMap<>();
  private final AtomicInteger issues = new AtomicInteger();
  /** Usable tickets per caller. */
  private final Map<Address, AtomicInteger> perCaller = new ConcurrentHashMap<>();
  /** Usable tickets on the server at once, over all callers. */
  private final int maxTotal;

  public ListenerTickets(Clock clock, Duration ttl) {
    this(clock, ttl, 100_000);
  }

  /** @param maxTotal usable tickets on the server at once (a soft limit, as the per-caller one) */
  public ListenerTickets(Clock clock, Duration ttl, int maxTotal) {
    this.clock = clock;
    this.ttl = ttl;
    this.maxTotal = maxTotal;
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
    perCaller.compute(ticket.from(), (a, n) -> {
      AtomicInteger c = n != null ? n : new AtomicInteger();
      c.incrementAndGet();
      return c;
    });
    tickets.put(ticket.id(), ticket);
    if (issues.incrementAndGet() % SWEEP_EVERY == 0) {
      sweep();
    }
  }

  /**
   * Checks that {@code caller} may be issued {@code n} more ids.
   *
   * @throws StatusRuntimeException RESOURCE_EXHAUSTED if it holds too many unused ones, or the
   *     server does
   */
  public void requireRoom(Address caller, int n) {
    if (tickets.size() + n > maxTotal) {
      sweep();
      if (tickets.size() + n > maxTotal) {
        throw Status.RESOURCE_EXHAUSTED
            .withDescription("the server holds " + maxTotal + " unused listener ids (the limit); try again later")
            .asRuntimeException();
      }
    }
    AtomicInteger held = perCaller.get(caller);
    if (held != null && held.get() + n > MAX_PER_CALLER) {
      sweep();
      if (held.get() + n > MAX_PER_CALLER) {
        throw Status.RESOURCE_EXHAUSTED
            .withDescription(caller + " holds " + held.get() + " unused listener ids (the limit is "
                + MAX_PER_CALLER + "); use them or let them expire")
            .asRuntimeException();
      }
    }
  }

  /** Drops every expired ticket. */
  public void sweep() {
    Instant now = clock.instant();
    for (ListenerTicket t : tickets.values()) {
      if (!now.isBefore(t.expires())) {
        remove(t);
      }
    }
  }

  private boolean remove(ListenerTicket t) {
    if (!tickets.remove(t.id(), t)) {
      return false;
    }
    perCaller.computeIfPresent(t.from(), (a, n) -> n.decrementAndGet() <= 0 ? null : n);
    return true;
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
      remove(t);
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
    if (!remove(t)) {
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
