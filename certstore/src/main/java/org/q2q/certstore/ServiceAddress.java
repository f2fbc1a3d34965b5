package org.q2q.certstore;

import java.util.Objects;

/**
 * A service at an address, written {@code ADDRESS/SERVICE} ({@code bob@example.com/web}): what
 * {@code q2q forward} connects to and what {@code q2q expose} offers. The address must be a user
 * address ({@code resource@domain}); the service follows {@link ServiceName}.
 *
 * @param address the user address
 * @param service the service name
 */
public record ServiceAddress(Address address, String service) {
  public ServiceAddress {
    Objects.requireNonNull(address, "address");
    ServiceName.check(service);
    if (address.isDomain()) {
      throw new IllegalArgumentException("'" + address + "' is a domain, not a user address (resource@domain)");
    }
  }

  /**
   * Parses {@code ADDRESS/SERVICE}; the last {@code /} separates the two (an address never contains one).
   *
   * @throws IllegalArgumentException naming what is wrong (an {@link AddressFormatException} for the address part)
   */
  public static ServiceAddress parse(String text) {
    Objects.requireNonNull(text, "text");
    int slash = text.lastIndexOf('/');
    if (slash < 0) {
      throw new IllegalArgumentException("'" + ServiceName.printable(text)
          + "' names no service: write ADDRESS/SERVICE, e.g. bob@example.com/web");
    }
    if (slash == text.length() - 1) {
      throw new IllegalArgumentException("'" + ServiceName.printable(text)
          + "' has an empty service after '/': write ADDRESS/SERVICE, e.g. bob@example.com/web");
    }
    Address a = Address.parse(text.substring(0, slash));
    return new ServiceAddress(a, text.substring(slash + 1));
  }

  @Override
  public String toString() {
    return address + "/" + service;
  }
}
