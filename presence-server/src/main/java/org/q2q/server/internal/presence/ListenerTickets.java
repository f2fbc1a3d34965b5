package org.q2q.server.internal.presence;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import org.q2q.certstore.Address;

/**
 * Listener ids: 128 random bits from {@link SecureRandom}, base64url without padding (22 chars),
 * each standing for one {@link ListenerTicket}. An id is usable by the address it was issued to,
 * until it expires, once ({@link #consume}). Vertex's ids were a predictable counter
 * ({@code from->to:n}); these are not guessable. Safe for concurrent use (one lock, O(1) work).
 */
public final class ListenerTickets {
  /** Random bits per id. */
  public static final int ID_BITS = 128;
  /**
   * Unused ids one caller may hold at once (a soft limit checked before Inbound asks listeners), so
   * that one address calling Inbound in a loop cannot fill the server's memory for a whole ticket lifetime.
   */
  public static final int MAX_PER_CALLER = 1024;

  private final SecureRandom random = new SecureRandom();
  private final Clock clock;
  private final Duration ttl;
  /**
   * Usable tickets by id, oldest first. Every ticket lives {@code ttl}, so the oldest expire first
   * and a sweep only looks at the expired head: O(1) per ticket. (It walked the whole table, and
   * a caller at its limit swept on every call: 60 % of a loaded server's CPU.)
   */
  private final LinkedHashMap<String, ListenerTicket> tickets = new LinkedHashMap<>();
  /** Usable tickets per caller. */
  private final Map<Address, Integer> perCaller = new HashMap<>();
  /** Usable tickets on the server at once, over all callers. */
  private final int maxTotal;
  /** What starts every id: the issuing node's, so that another node of the domain can tell ("" alone). */
  private final String prefix;

  public ListenerTickets(Clock clock, Duration ttl) {
    this(clock, ttl, 100_000);
  }

  /** @param maxTotal usable tickets on the server at once (a soft limit, as the per-caller one) */
  public ListenerTickets(Clock clock, Duration ttl, int maxTotal) {
    this(clock, ttl, maxTotal, "");
  }

  /** @param prefix what starts every id issued here (the node's; "" alone) */
  public ListenerTickets(Clock clock, Duration ttl, int maxTotal, String prefix) {
    this.clock = clock;
    this.ttl = ttl;
    this.maxTotal = maxTotal;
    this.prefix = prefix;
  }

  /** How long a ticket is usable once activated. */
  public Duration ttl() {
    return ttl;
  }

  /** A fresh id (not yet usable: {@link #activate} it once the listener accepted). */
  public String newId() {
    byte[] b = new byte[ID_BITS / 8];
    random.nextBytes(b);
    return prefix + Base64.getUrlEncoder().withoutPadding().encodeToString(b);
  }

  /** The expiry of an id issued now. */
  public Instant expiryFromNow() {
    return clock.instant().plus(ttl);
  }

  /** Makes {@code ticket} usable. */
  public synchronized void activate(ListenerTicket ticket) {
    sweep();
    perCaller.merge(ticket.from(), 1, Integer::sum);
    tickets.put(ticket.id(), ticket);
  }

  /**
   * Checks that {@code caller} may be issued {@code n} more ids.
   *
   * @throws StatusRuntimeException RESOURCE_EXHAUSTED if it holds too many unused ones, or the
   *     server does
   */
  public synchronized void requireRoom(Address caller, int n) {
    sweep();
    if (tickets.size() + n > maxTotal) {
      throw Status.RESOURCE_EXHAUSTED
          .withDescription("the server holds " + maxTotal + " unused listener ids (the limit); try again later")
          .asRuntimeException();
    }
    int held = perCaller.getOrDefault(caller, 0);
    if (held + n > MAX_PER_CALLER) {
      throw Status.RESOURCE_EXHAUSTED
          .withDescription(caller + " holds " + held + " unused listener ids (the limit is "
              + MAX_PER_CALLER + "); use them or let them expire")
          .asRuntimeException();
    }
  }

  /**
   * Drops the expired tickets at the head. A ticket activated late (its Inbound waited for the
   * listener) may sit behind a younger one for up to that wait; {@link #peek} refuses it anyway.
   */
  public synchronized void sweep() {
    Instant now = clock.instant();
    Iterator<ListenerTicket> it = tickets.values().iterator();
    while (it.hasNext()) {
      ListenerTicket t = it.next();
      if (now.isBefore(t.expires())) {
        return;
      }
      it.remove();
      uncount(t);
    }
  }

  private boolean remove(ListenerTicket t) {
    if (!tickets.remove(t.id(), t)) {
      return false;
    }
    uncount(t);
    return true;
  }

  private void uncount(ListenerTicket t) {
    perCaller.computeIfPresent(t.from(), (a, n) -> n <= 1 ? null : n - 1);
  }

  /**
   * The ticket of {@code id} if {@code caller} may use it now (it stays usable).
   *
   * @throws StatusRuntimeException NOT_FOUND (unknown, used or expired) or PERMISSION_DENIED (issued
   *     to another address)
   */
  public synchronized ListenerTicket peek(String id, Address caller) {
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
  public synchronized ListenerTicket consume(String id, Address caller) {
    ListenerTicket t = peek(id, caller);
    if (!remove(t)) {
      throw Status.NOT_FOUND
          .withDescription("listener id '" + shorten(id) + "' was already used")
          .asRuntimeException();
    }
    return t;
  }

  /** Usable tickets right now (expired ones not yet swept included). */
  public synchronized int size() {
    return tickets.size();
  }

  /** An id cut short for messages and logs (never echo an unbounded client string). */
  public static String shorten(String id) {
    return id.length() <= 40 ? id : id.substring(0, 40) + "...";
  }
}
