package org.q2q.server.internal.presence;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;

/** The rules for service names: 1..64 characters, no control characters, not starting with '.'. */
public final class ServiceNames {
  /** Longest service name accepted, in UTF-16 chars. */
  public static final int MAX_LENGTH = 64;

  private ServiceNames() {}

  /**
   * Returns {@code name} if acceptable.
   *
   * @throws StatusRuntimeException INVALID_ARGUMENT saying what is wrong with it
   */
  public static String check(String name) {
    if (name == null || name.isEmpty()) {
      throw invalid("an empty service name");
    }
    if (name.length() > MAX_LENGTH) {
      throw invalid("service name '" + name.substring(0, 16) + "...' is longer than " + MAX_LENGTH + " characters");
    }
    for (int i = 0; i < name.length(); i++) {
      char c = name.charAt(i);
      if (Character.isISOControl(c) || Character.isWhitespace(c) || c == '/') {
        throw invalid("service name " + quoted(name) + " contains a space, '/' or control character at index " + i);
      }
    }
    if (name.startsWith(".")) {
      throw invalid("service name '" + name + "' starts with '.', which is reserved");
    }
    return name;
  }

  private static String quoted(String s) {
    StringBuilder b = new StringBuilder("'");
    for (char c : s.toCharArray()) {
      b.append(Character.isISOControl(c) ? String.format("\\u%04x", (int) c) : String.valueOf(c));
    }
    return b.append('\'').toString();
  }

  private static StatusRuntimeException invalid(String what) {
    return Status.INVALID_ARGUMENT.withDescription(what).asRuntimeException();
  }
}
