package org.q2q.client;

import java.util.Objects;

/**
 * Where a presence server listens: a host (DNS name or IP literal, IPv6 without brackets) and a
 * TCP port. Parsed from {@code host:port}, {@code [v6]:port} or a bare host (default port 8788).
 */
public record ServerAddress(String host, int port) {
  /** The presence server's default port (TCP for gRPC, UDP for PTCP and reflexive answers). */
  public static final int DEFAULT_PORT = 8788;

  public ServerAddress {
    Objects.requireNonNull(host, "host");
    if (host.isEmpty()) {
      throw new IllegalArgumentException("empty server host");
    }
    if (port < 1 || port > 65535) {
      throw new IllegalArgumentException("server port " + port + " is not in 1..65535");
    }
  }

  /**
   * Parses {@code host:port}, {@code [ipv6]:port}, {@code host} or {@code [ipv6]}.
   *
   * @throws IllegalArgumentException naming the input and the problem
   */
  public static ServerAddress parse(String text) {
    String t = text.trim();
    String host;
    String port = null;
    if (t.startsWith("[")) {
      int close = t.indexOf(']');
      if (close < 0) {
        throw new IllegalArgumentException("server '" + text + "': missing ']' after the IPv6 address");
      }
      host = t.substring(1, close);
      String rest = t.substring(close + 1);
      if (!rest.isEmpty()) {
        if (!rest.startsWith(":")) {
          throw new IllegalArgumentException("server '" + text + "': expected ':port' after ']'");
        }
        port = rest.substring(1);
      }
    } else {
      int colon = t.lastIndexOf(':');
      if (colon >= 0 && t.indexOf(':') != colon) {
        throw new IllegalArgumentException(
            "server '" + text + "': write IPv6 addresses in brackets, e.g. [::1]:8788");
      }
      host = colon >= 0 ? t.substring(0, colon) : t;
      port = colon >= 0 ? t.substring(colon + 1) : null;
    }
    if (host.isEmpty() || host.chars().anyMatch(c -> Character.isWhitespace(c) || Character.isISOControl(c))) {
      throw new IllegalArgumentException("server '" + text + "': bad host");
    }
    int p = DEFAULT_PORT;
    if (port != null) {
      try {
        p = Integer.parseInt(port);
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("server '" + text + "': port '" + port + "' is not a number");
      }
      if (p < 1 || p > 65535) {
        throw new IllegalArgumentException("server '" + text + "': port " + p + " is not in 1..65535");
      }
    }
    return new ServerAddress(host, p);
  }

  @Override
  public String toString() {
    return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + port;
  }
}
