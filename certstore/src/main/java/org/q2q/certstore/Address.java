package org.q2q.certstore;

import java.net.IDN;
import java.util.Locale;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * A q2q address: {@code resource@domain}, or a bare {@code domain} naming the domain itself (its
 * presence server).
 *
 * <ul>
 *   <li>Domains are case-insensitive and stored lower-case; internationalised names are converted
 *       to their ASCII (punycode) form; IPv4 literals and bracketed IPv6 literals are accepted.
 *   <li>Resources are case-sensitive and limited to letters, digits and {@code . _ - +}.
 * </ul>
 *
 * <p>Parsing never guesses: empty parts, a second {@code @}, whitespace, control characters and
 * over-long input are rejected with an {@link AddressFormatException} naming the problem (Vertex
 * split on the first {@code @} and accepted anything). Immutable and safe for concurrent use.
 */
public final class Address implements Comparable<Address> {
  /** Longest accepted textual address, in characters (a DNS name is at most 253). */
  public static final int MAX_LENGTH = 320;
  /** Longest accepted resource, in characters (as for the local part of an e-mail address). */
  public static final int MAX_RESOURCE_LENGTH = 64;

  private static final Pattern RESOURCE = Pattern.compile("[A-Za-z0-9._+-]+");
  private static final Pattern LABEL = Pattern.compile("[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?");
  private static final Pattern IPV4 = Pattern.compile("\\d{1,3}(\\.\\d{1,3}){3}");

  private final String resource; // null for a domain address
  private final String domain;

  private Address(String resource, String domain) {
    this.resource = resource;
    this.domain = domain;
  }

  /**
   * Parses {@code resource@domain} or {@code domain}.
   *
   * @throws AddressFormatException with a message naming what is wrong
   */
  public static Address parse(String text) {
    Objects.requireNonNull(text, "address");
    if (text.isEmpty()) {
      throw new AddressFormatException(text, "the address is empty");
    }
    if (text.length() > MAX_LENGTH) {
      throw new AddressFormatException(
          text.substring(0, 40) + "...", "longer than " + MAX_LENGTH + " characters");
    }
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (Character.isISOControl(c)) {
        throw new AddressFormatException(text, "contains a control character at position " + i);
      }
      if (Character.isWhitespace(c) || Character.isSpaceChar(c)) {
        throw new AddressFormatException(text, "contains whitespace at position " + i);
      }
      if (Character.getType(c) == Character.FORMAT) {
        // zero-width and direction marks: IDN would silently drop some, making look-alikes
        throw new AddressFormatException(
            text, String.format("contains an invisible formatting character (U+%04X) at position %d", (int) c, i));
      }
    }
    int at = text.indexOf('@');
    if (at < 0) {
      return new Address(null, checkDomain(text, text));
    }
    if (text.indexOf('@', at + 1) >= 0) {
      throw new AddressFormatException(text, "contains more than one '@'");
    }
    String resource = text.substring(0, at);
    String domain = text.substring(at + 1);
    if (resource.isEmpty()) {
      throw new AddressFormatException(text, "the part before '@' (the resource) is empty");
    }
    if (domain.isEmpty()) {
      throw new AddressFormatException(text, "the part after '@' (the domain) is empty");
    }
    return new Address(checkResource(text, resource), checkDomain(text, domain));
  }

  /** The address of user {@code resource} at {@code domain}; both parts are validated. */
  public static Address of(String resource, String domain) {
    return parse(resource + "@" + domain);
  }

  /** The address of a domain (its presence server). */
  public static Address ofDomain(String domain) {
    Address a = parse(domain);
    if (!a.isDomain()) {
      throw new AddressFormatException(domain, "a domain may not contain '@'");
    }
    return a;
  }

  private static String checkResource(String text, String resource) {
    if (resource.length() > MAX_RESOURCE_LENGTH) {
      throw new AddressFormatException(
          text, "the resource is longer than " + MAX_RESOURCE_LENGTH + " characters");
    }
    if (!RESOURCE.matcher(resource).matches()) {
      throw new AddressFormatException(
          text, "the resource may contain only letters, digits and . _ - +");
    }
    return resource;
  }

  private static String checkDomain(String text, String domain) {
    if (domain.startsWith("[") && domain.endsWith("]")) {
      String inner = domain.substring(1, domain.length() - 1);
      if (inner.isEmpty() || !inner.matches("[0-9A-Fa-f:.]+") || !inner.contains(":")) {
        throw new AddressFormatException(text, "'" + domain + "' is not an IPv6 literal");
      }
      return "[" + inner.toLowerCase(Locale.ROOT) + "]";
    }
    if (domain.contains(":")) {
      throw new AddressFormatException(
          text, "the domain contains ':' (write IPv6 literals in brackets; ports are not part of an address)");
    }
    String d = domain.endsWith(".") ? domain.substring(0, domain.length() - 1) : domain;
    if (IPV4.matcher(d).matches()) {
      for (String part : d.split("\\.")) {
        if (Integer.parseInt(part) > 255) {
          throw new AddressFormatException(text, "'" + d + "' is not an IPv4 address");
        }
      }
      return d;
    }
    StringBuilder ascii = new StringBuilder();
    for (String label : d.split("\\.", -1)) {
      if (label.isEmpty()) {
        throw new AddressFormatException(text, "the domain has an empty label (two dots in a row?)");
      }
      String a = label;
      if (!label.chars().allMatch(c -> c < 128)) {
        try {
          // internationalised label -> punycode; STD3 rules refuse symbols and spaces
          a = IDN.toASCII(label, IDN.USE_STD3_ASCII_RULES);
        } catch (IllegalArgumentException e) {
          throw new AddressFormatException(
              text, "the domain label '" + label + "' is not a valid internationalised name");
        }
      }
      a = a.toLowerCase(Locale.ROOT);
      if (!LABEL.matcher(a).matches()) {
        throw new AddressFormatException(
            text, "the domain label '" + label + "' may contain only letters, digits and inner '-' (at most 63)");
      }
      if (ascii.length() > 0) {
        ascii.append('.');
      }
      ascii.append(a);
    }
    if (ascii.length() > 253) {
      throw new AddressFormatException(text, "the domain must be 1 to 253 characters long");
    }
    return ascii.toString();
  }

  /** The resource (user or role) part, or {@code null} for a domain address. */
  public String resource() {
    return resource;
  }

  /** The domain, lower-case ASCII. */
  public String domain() {
    return domain;
  }

  /** True if this names a domain (no resource). */
  public boolean isDomain() {
    return resource == null;
  }

  /** The address of this address's domain. */
  public Address domainAddress() {
    return isDomain() ? this : new Address(null, domain);
  }

  /** The SAN URI form, {@code q2q:alice@example.com}. */
  public String toUri() {
    return "q2q:" + this;
  }

  @Override
  public String toString() {
    return resource == null ? domain : resource + "@" + domain;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Address a && Objects.equals(resource, a.resource) && domain.equals(a.domain);
  }

  @Override
  public int hashCode() {
    return Objects.hash(resource, domain);
  }

  @Override
  public int compareTo(Address o) {
    int c = domain.compareTo(o.domain);
    if (c != 0) {
      return c;
    }
    if (resource == null || o.resource == null) {
      return resource == null ? (o.resource == null ? 0 : -1) : 1;
    }
    return resource.compareTo(o.resource);
  }
}
