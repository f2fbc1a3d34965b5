package org.q2q.server.internal.presence;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.q2q.certstore.Address;

/**
 * Who listens for what: (address, service) to the Listen sessions offering it, in the order they
 * registered. Several sessions may listen for the same pair (one user on two machines); Inbound asks
 * each. Safe for concurrent use.
 */
public final class ListenerRegistry {
  /** One (address, service) pair listened for. */
  public record Key(Address address, String service) {}

  private final Map<Key, CopyOnWriteArrayList<ListenSession>> listeners = new ConcurrentHashMap<>();
  /** Registrations held, summed over all keys (counted inside compute, so exact). */
  private final AtomicInteger size = new AtomicInteger();
  private final OtherNodes otherNodes;

  /** A registry of one node alone. */
  public ListenerRegistry() {
    this(OtherNodes.NONE);
  }

  /** @param otherNodes told when a pair gets its first session here and when it loses its last */
  public ListenerRegistry(OtherNodes otherNodes) {
    this.otherNodes = otherNodes;
  }

  /** Registers {@code session} for (address, service); idempotent. */
  public void add(Address address, String service, ListenSession session) {
    listeners.compute(new Key(address, service), (k, v) -> {
      CopyOnWriteArrayList<ListenSession> l = v != null ? v : new CopyOnWriteArrayList<>();
      if (l.addIfAbsent(session)) {
        size.incrementAndGet();
      }
      if (v == null) {
        otherNodes.listening(address, service, true); // inside compute: in order with a removal
      }
      return l;
    });
  }

  /** Unregisters {@code session} for (address, service). */
  public void remove(Address address, String service, ListenSession session) {
    listeners.computeIfPresent(new Key(address, service), (k, v) -> {
      if (v.remove(session)) {
        size.decrementAndGet();
      }
      if (v.isEmpty()) {
        otherNodes.listening(address, service, false);
        return null;
      }
      return v;
    });
  }

  /** Every pair listened for now (a snapshot, for re-announcing them all). */
  public List<Key> keys() {
    return List.copyOf(listeners.keySet());
  }

  /** The open sessions listening for (address, service), oldest first. */
  public List<ListenSession> lookup(Address address, String service) {
    List<ListenSession> l = listeners.get(new Key(address, service));
    return l == null ? List.of() : l.stream().filter(ListenSession::isOpen).toList();
  }

  /** Registrations held now: (address, service, session) triples. */
  public int size() {
    return size.get();
  }

  /** Whether anyone listens for any service at {@code address}. */
  public boolean listensAt(Address address) {
    return listeners.keySet().stream().anyMatch(k -> k.address().equals(address));
  }
}
