package org.q2q.certstore;

import java.util.Objects;

/**
 * The one rule for service names, used by the client (listen, connect, {@code ADDRESS/SERVICE}) and
 * by the presence server (Offer, Inbound), so both accept exactly the same names:
 *
 * <ul>
 *   <li>1 to {@value #MAX_LENGTH} characters;
 *   <li>ASCII letters, digits, {@code -}, {@code _} and {@code .} only (no spaces, no {@code /},
 *       which separates the service in {@code ADDRESS/SERVICE}, no control characters);
 *   <li>not starting with {@code .}, which is reserved for the protocol's own use.
 * </ul>
 *
 * Stateless and safe for concurrent use.
 */
public final class ServiceName {
  /** Longest service name accepted, in characters. */
  public static final int MAX_LENGTH = 64;

  private ServiceName() {}

  /**
   * Returns {@code name} if it is a valid service name.
   *
   * @throws IllegalArgumentException whose message starts with "service name" and says what is wrong
   */
  public static String check(String name) {
    Objects.requireNonNull(name, "service name");
    if (name.isEmpty()) {
      throw new IllegalArgumentException("service name is empty");
    }
    if (name.length() > MAX_LENGTH) {
      throw new IllegalArgumentException("service name '" + printable(name.substring(0, 16)) + "...' is longer than "
          + MAX_LENGTH + " characters");
    }
    for (int i = 0; i < name.length(); i++) {
      char c = name.charAt(i);
      boolean ok = c < 128 && (Character.isLetterOrDigit(c) || c == '-' || c == '_' || c == '.');
      if (!ok) {
        throw new IllegalArgumentException("service name '" + printable(name) + "' may contain only ASCII letters,"
            + " digits, '-', '_' and '.' (found " + describe(c) + " at index " + i + ")");
      }
    }
    if (name.startsWith(".")) {
      throw new IllegalArgumentException("service name '" + name + "' starts with '.', which is reserved");
    }
    return name;
  }

  /** True if {@link #check} accepts {@code name}. */
  public static boolean isValid(String name) {
    try {
      check(name);
      return true;
    } catch (IllegalArgumentException | NullPointerException e) {
      return false;
    }
  }

  private static String describe(char c) {
    if (c == ' ') {
      return "a space";
    }
    if (c == '/') {
      return "'/'";
    }
    if (Character.isISOControl(c) || Character.isWhitespace(c) || c >= 128) {
      return String.format("U+%04X", (int) c);
    }
    return "'" + c + "'";
  }

  static String printable(String s) {
    StringBuilder b = new StringBuilder();
    for (char c : s.toCharArray()) {
      b.append(Character.isISOControl(c) ? String.format("\\u%04x", (int) c) : String.valueOf(c));
    }
    return b.toString();
  }
}
