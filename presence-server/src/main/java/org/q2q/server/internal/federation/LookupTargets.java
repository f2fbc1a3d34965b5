package org.q2q.server.internal.federation;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Where the server may connect to learn a foreign domain's CA (M1: the lookup must not be a way to
 * make the server probe its own network). When the locator answers with the domain's own name (the
 * default {@code <domain>:8788}, not an operator's configured server), the domain must be a host
 * name, not an IP literal, and every address it resolves to must be public: no loopback, private,
 * link-local, unique-local, CGNAT, multicast or unspecified addresses. The server then dials the
 * address it checked, so a second DNS answer cannot point elsewhere. A configured server (another
 * host, e.g. from {@code Q2Q_SERVERS}) is dialled as configured. A domain with several servers
 * (its nodes) gets them all, in order, and its name every address it resolves to.
 */
final class LookupTargets {
  /** Resolves a host name (tests replace DNS). */
  @FunctionalInterface
  interface Resolver {
    InetAddress[] resolve(String host) throws UnknownHostException;
  }

  private final Resolver resolver;

  LookupTargets(Resolver resolver) {
    this.resolver = resolver;
  }

  /**
   * The addresses to dial for {@code domain}, in order, whose servers the locator placed at
   * {@code located}; a server that may not be dialled is left out.
   *
   * @throws IllegalStateException saying why none may be looked up (for the log, not the caller)
   */
  List<InetSocketAddress> targets(String domain, List<InetSocketAddress> located) {
    List<InetSocketAddress> out = new ArrayList<>();
    IllegalStateException first = null;
    for (InetSocketAddress l : located) {
      try {
        out.addAll(target(domain, l));
      } catch (IllegalStateException e) {
        first = first == null ? e : first;
      }
    }
    if (out.isEmpty()) {
      throw first != null ? first : new IllegalStateException("no server is known");
    }
    return out;
  }

  /**
   * The addresses to dial for {@code domain}, whose server the locator placed at {@code located}.
   *
   * @throws IllegalStateException saying why it may not be looked up (for the log, not the caller)
   */
  List<InetSocketAddress> target(String domain, InetSocketAddress located) {
    String host = strip(located.getHostString()).toLowerCase(Locale.ROOT);
    if (!host.equals(strip(domain).toLowerCase(Locale.ROOT))) {
      return List.of(located); // configured by the operator
    }
    if (isIpLiteral(host)) {
      throw new IllegalStateException("the domain is an IP literal (configure its server to allow it)");
    }
    InetAddress[] all;
    try {
      all = resolver.resolve(host);
    } catch (UnknownHostException e) {
      throw new IllegalStateException("the name does not resolve");
    }
    if (all.length == 0) {
      throw new IllegalStateException("the name does not resolve");
    }
    for (InetAddress a : all) {
      if (!isPublic(a)) {
        throw new IllegalStateException("it resolves to the non-public address " + a.getHostAddress()
            + " (configure its server to allow it)");
      }
    }
    List<InetSocketAddress> out = new ArrayList<>();
    for (InetAddress a : all) {
      out.add(new InetSocketAddress(a, located.getPort()));
    }
    return out;
  }

  static boolean isIpLiteral(String host) {
    return host.indexOf(':') >= 0 || host.matches("[0-9.]+");
  }

  /** Whether {@code a} is a globally routable unicast address. */
  static boolean isPublic(InetAddress a) {
    if (a.isAnyLocalAddress() || a.isLoopbackAddress() || a.isLinkLocalAddress() || a.isSiteLocalAddress()
        || a.isMulticastAddress()) {
      return false;
    }
    byte[] b = a.getAddress();
    if (a instanceof Inet4Address) {
      int first = b[0] & 0xff;
      int second = b[1] & 0xff;
      return first != 0 && !(first == 100 && second >= 64 && second < 128) // 100.64/10 CGNAT
          && !(first == 192 && second == 0 && (b[2] & 0xff) == 0) // 192.0.0/24
          && !(first == 198 && (second == 18 || second == 19)) // benchmarking
          && first < 224; // multicast and reserved
    }
    if (a instanceof Inet6Address) {
      if ((b[0] & 0xfe) == 0xfc) { // fc00::/7 unique local
        return false;
      }
      boolean mapped = true; // ::ffff:a.b.c.d
      for (int i = 0; i < 10; i++) {
        mapped &= b[i] == 0;
      }
      if (mapped && (b[10] & 0xff) == 0xff && (b[11] & 0xff) == 0xff) {
        try {
          return isPublic(InetAddress.getByAddress(new byte[] {b[12], b[13], b[14], b[15]}));
        } catch (UnknownHostException e) {
          return false;
        }
      }
    }
    return true;
  }

  private static String strip(String host) {
    return host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
  }
}
