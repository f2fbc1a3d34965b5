package org.q2q.client.forward;

import java.net.InetSocketAddress;
import java.util.Objects;

/**
 * A TCP endpoint as written on a command line: {@code host:port}, {@code [v6]:port}, or (for
 * listening) {@code [BIND_HOST:]PORT}. Port 0 is allowed only where {@link #parseBind} says so.
 * Immutable.
 *
 * @param host a host name or IP literal, without brackets
 * @param port 0..65535
 */
public record HostPort(String host, int port) {
  public HostPort {
    Objects.requireNonNull(host, "host");
    if (host.isEmpty()) {
      throw new IllegalArgumentException("empty host");
    }
    if (port < 0 || port > 65535) {
      throw new IllegalArgumentException("port " + port + " is not in 0..65535");
    }
  }

  /**
   * Parses {@code HOST:PORT} (port 1..65535).
   *
   * @throws IllegalArgumentException naming what is wrong
   */
  public static HostPort parse(String text) {
    Objects.requireNonNull(text, "text");
    int colon = text.lastIndexOf(':');
    if (colon <= 0) {
      throw new IllegalArgumentException("'" + text + "' is not HOST:PORT (e.g. 127.0.0.1:8080)");
    }
    HostPort hp = new HostPort(host(text, text.substring(0, colon)), port(text, text.substring(colon + 1)));
    if (hp.port == 0) {
      throw new IllegalArgumentException("'" + text + "': port 0 cannot be connected to");
    }
    return hp;
  }

  /**
   * Parses {@code [BIND_HOST:]PORT}, the host defaulting to {@code defaultHost}; port 0 means any free port.
   *
   * @throws IllegalArgumentException naming what is wrong
   */
  public static HostPort parseBind(String text, String defaultHost) {
    Objects.requireNonNull(text, "text");
    int colon = text.lastIndexOf(':');
    if (colon < 0 || (text.startsWith("[") && text.endsWith("]"))) {
      return new HostPort(defaultHost, port(text, text));
    }
    return new HostPort(host(text, text.substring(0, colon)), port(text, text.substring(colon + 1)));
  }

  private static String host(String text, String h) {
    if (h.startsWith("[") && h.endsWith("]")) {
      h = h.substring(1, h.length() - 1);
    } else if (h.contains(":")) {
      throw new IllegalArgumentException("'" + text + "': write an IPv6 address in brackets, e.g. [::1]:8080");
    }
    if (h.isEmpty()) {
      throw new IllegalArgumentException("'" + text + "' has an empty host");
    }
    for (int i = 0; i < h.length(); i++) {
      char c = h.charAt(i);
      if (Character.isWhitespace(c) || Character.isISOControl(c) || c == '/' || c == '@') {
        throw new IllegalArgumentException("'" + text + "' is not a valid host");
      }
    }
    return h;
  }

  private static int port(String text, String p) {
    try {
      int port = Integer.parseInt(p);
      if (port < 0 || port > 65535) {
        throw new NumberFormatException();
      }
      return port;
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("'" + text + "': the port must be a number in 0..65535");
    }
  }

  /** An unresolved socket address (resolved when connecting or binding). */
  public InetSocketAddress toSocketAddress() {
    return new InetSocketAddress(host, port);
  }

  @Override
  public String toString() {
    return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
  }
}
