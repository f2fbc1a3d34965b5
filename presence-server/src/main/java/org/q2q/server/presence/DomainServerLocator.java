package org.q2q.server.presence;

import java.net.InetSocketAddress;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import org.q2q.certstore.Address;

/**
 * Where a foreign domain's presence server listens, for federation (the server asks it for the
 * domain's CA with Identify). The same rules as the client's server lookup: an explicit map
 * ({@code Q2Q_SERVERS=domain=host:port,...}), else {@code <domain>:8788}.
 */
@FunctionalInterface
public interface DomainServerLocator {
  /** The presence servers' default port. */
  int DEFAULT_PORT = 8788;

  /**
   * The server of {@code domain} (lower-case, as in an {@link Address}); unresolved.
   *
   * @throws IllegalArgumentException if the domain has no usable server
   */
  InetSocketAddress locate(String domain);

  /** {@code <domain>:8788}. */
  static DomainServerLocator defaultPort() {
    return domain -> InetSocketAddress.createUnresolved(stripBrackets(domain), DEFAULT_PORT);
  }

  /** The servers in {@code servers} (domain -> server), else {@code <domain>:8788}. */
  static DomainServerLocator of(Map<String, InetSocketAddress> servers) {
    Map<String, InetSocketAddress> copy = new HashMap<>();
    servers.forEach((d, s) -> copy.put(Address.ofDomain(d).domain(), s));
    DomainServerLocator fallback = defaultPort();
    return domain -> {
      InetSocketAddress s = copy.get(domain.toLowerCase(Locale.ROOT));
      return s != null ? s : fallback.locate(domain);
    };
  }

  /**
   * The servers named by a {@code Q2Q_SERVERS} value ({@code domain=host:port,...}; IPv6 hosts in
   * brackets), else {@code <domain>:8788}.
   *
   * @throws IllegalArgumentException naming the malformed entry
   */
  public static DomainServerLocator fromServersVariable(String value) {
    Map<String, InetSocketAddress> map = new HashMap<>();
    if (value != null) {
      for (String entry : value.split(",")) {
        String e = entry.trim();
        if (e.isEmpty()) {
          continue;
        }
        int eq = e.indexOf('=');
        int colon = e.lastIndexOf(':');
        if (eq <= 0 || colon <= eq + 1 || colon == e.length() - 1) {
          throw new IllegalArgumentException("Q2Q_SERVERS entry '" + e + "' is not domain=host:port");
        }
        String host = stripBrackets(e.substring(eq + 1, colon));
        int port;
        try {
          port = Integer.parseInt(e.substring(colon + 1));
        } catch (NumberFormatException x) {
          throw new IllegalArgumentException("Q2Q_SERVERS entry '" + e + "': the port is not a number");
        }
        if (port < 1 || port > 65535) {
          throw new IllegalArgumentException("Q2Q_SERVERS entry '" + e + "': port " + port + " is not in 1..65535");
        }
        map.put(e.substring(0, eq), InetSocketAddress.createUnresolved(host, port));
      }
    }
    return of(map);
  }

  private static String stripBrackets(String host) {
    return host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
  }
}
