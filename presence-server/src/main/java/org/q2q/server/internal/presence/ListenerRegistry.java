package org.q2q.server.internal.presence;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.q2q.certstore.Address;

/**
 * Who listens for what: (address, service) to the Listen sessions offering it, in the order they
 * registered. Several sessions may listen for the same pair (one user on two machines); Inbound asks
 * each. Safe for concurrent use.
 */
public final class ListenerRegistry {
  private record Key(Address address, String service) {}

  private final Map<Key, CopyOnWriteArrayList<ListenSession>> listeners = new ConcurrentHashMap<>();

  /** Registers {@code session} for (address, service); idempotent. */
  public void add(Address address, String service, ListenSession session) {
    listeners.compute(new Key(address, service), (k, v) -> {
      CopyOnWriteArrayList<ListenSession> l = v != null ? v : new CopyOnWriteArrayList<>();
      l.addIfAbsent(session);
      return l;
    });
  }

  /** Unregisters {@code session} for (address, service). */
  public void remove(Address address, String service, ListenSession session) {
    listeners.computeIfPresent(new Key(address, service), (k, v) -> {
      v.remove(session);
      return v.isEmpty() ? null : v;
    });
  }

  /** The open sessions listening for (address, service), oldest first. */
  public List<ListenSession> lookup(Address address, String service) {
    List<ListenSession> l = listeners.get(new Key(address, service));
    return l == null ? List.of() : l.stream().filter(ListenSession::isOpen).toList();
  }

  /** Whether anyone listens for any service at {@code address}. */
  public boolean listensAt(Address address) {
    return listeners.keySet().stream().anyMatch(k -> k.address().equals(address));
  }
}
