package org.q2q.client;

import java.util.Collection;
import java.util.Objects;
import java.util.Set;
import org.q2q.certstore.Address;

/**
 * Decides whether a listener accepts a peer, both when the presence server asks (Inbound: a
 * declined connector gets {@code PERMISSION_DENIED} with the reason) and when a channel is opened
 * over an already established peer session (the peer gets a reset with {@code REFUSED}). Must be
 * fast, must not block and must be safe for concurrent use.
 */
@FunctionalInterface
public interface AcceptPolicy {
  /**
   * @param from the connecting peer's address, verified from its certificate
   * @param service the service asked for
   */
  Decision decide(Address from, String service);

  /** Accepts everyone with a valid certificate (the default). */
  static AcceptPolicy anyone() {
    return (from, service) -> Decision.accept();
  }

  /** Accepts only the given addresses. */
  static AcceptPolicy onlyFrom(Collection<Address> allowed) {
    Set<Address> set = Set.copyOf(allowed);
    return (from, service) -> set.contains(from)
        ? Decision.accept()
        : Decision.decline(from + " is not allowed to use " + service);
  }

  /** A verdict. */
  record Decision(boolean accepted, String reason) {
    public Decision {
      Objects.requireNonNull(reason, "reason");
    }

    /** Accept. */
    public static Decision accept() {
      return new Decision(true, "");
    }

    /** Decline, telling the connector {@code reason}. */
    public static Decision decline(String reason) {
      return new Decision(false, reason);
    }
  }
}
