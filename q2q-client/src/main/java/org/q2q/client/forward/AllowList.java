package org.q2q.client.forward;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.stream.Collectors;
import org.q2q.certstore.Address;
import org.q2q.client.AcceptPolicy;

/**
 * Who may open an exposed service or a gateway: single addresses ({@code alice@example.com}) and
 * whole domains ({@code @example.com}). Without entries, the owner's own domain only, the safe
 * default. Immutable and safe for concurrent use.
 */
public final class AllowList implements AcceptPolicy {
  private final Address owner;
  private final Set<Address> addresses;
  private final Set<String> domains;
  private final boolean isDefault;

  private AllowList(Address owner, Set<Address> addresses, Set<String> domains, boolean isDefault) {
    this.owner = owner;
    this.addresses = Set.copyOf(addresses);
    this.domains = Set.copyOf(domains);
    this.isDefault = isDefault;
  }

  /**
   * The allow list of {@code owner} from entries {@code ADDRESS} or {@code @DOMAIN}; no entries means
   * {@code @<owner's domain>}.
   *
   * @throws IllegalArgumentException for an entry that is neither
   */
  public static AllowList parse(List<String> entries, Address owner) {
    Objects.requireNonNull(owner, "owner");
    Set<Address> addresses = new LinkedHashSet<>();
    Set<String> domains = new LinkedHashSet<>();
    for (String e : entries) {
      String s = e.trim();
      if (s.startsWith("@")) {
        domains.add(Address.ofDomain(s.substring(1)).domain());
        continue;
      }
      Address a = Address.parse(s);
      if (a.isDomain()) {
        throw new IllegalArgumentException("'" + e + "' is a domain: write @" + a.domain() + " to allow all of it");
      }
      addresses.add(a);
    }
    boolean isDefault = addresses.isEmpty() && domains.isEmpty();
    if (isDefault) {
      domains.add(owner.domain());
    }
    return new AllowList(owner, addresses, domains, isDefault);
  }

  /** True if {@code who} may connect. */
  public boolean allows(Address who) {
    return addresses.contains(who) || domains.contains(who.domain());
  }

  /** True if no entries were given (the owner's domain only). */
  public boolean isDefault() {
    return isDefault;
  }

  @Override
  public Decision decide(Address from, String service) {
    if (allows(from)) {
      return Decision.accept();
    }
    return Decision.decline(from + " is not allowed to use " + owner + "/" + service + " (allowed: " + this + ")");
  }

  /** The entries, e.g. {@code @example.com, carol@other.test}. */
  @Override
  public String toString() {
    List<String> all = new ArrayList<>();
    domains.stream().sorted().forEach(d -> all.add("@" + d));
    addresses.stream().sorted().forEach(a -> all.add(a.toString()));
    return all.stream().collect(Collectors.joining(", "));
  }
}
