package org.q2q.server.presence;

import java.net.InetSocketAddress;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import org.q2q.certstore.Address;
import org.q2q.certstore.ServerDirectory;

/**
 * Where a foreign domain's presence server listens, for federation (the server asks it for the
 * domain's CA with Identify). The same rules as the client's server lookup: an explicit map
 * ({@code Q2Q_SERVERS=domain=host:port,...}), else {@code <domain>:8788}.
 */
@FunctionalInterface
public interface DomainServerLocator {
  /** The presence servers' default port. */
  int DEFAULT_PORT = ServerDirectory.DEFAULT_PORT;

  /**
   * The server of {@code domain} (lower-case, as in an {@link Address}); unresolved.
   *
   * @throws IllegalArgumentException if the domain has no usable server
   */
  InetSocketAddress locate(String domain);

  /** {@code <domain>:8788}. */
  static DomainServerLocator defaultPort() {
    return domain -> unresolved(ServerDirectory.defaultFor(Address.ofDomain(domain)));
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
   * The servers named by a {@code Q2Q_SERVERS} value, else {@code <domain>:8788}: the rule of
   * {@link ServerDirectory}, the same as the client's.
   *
   * @throws IllegalArgumentException naming the malformed entry
   */
  static DomainServerLocator fromServersVariable(String value) {
    Map<String, InetSocketAddress> map = new HashMap<>();
    ServerDirectory.parseServers(value).forEach((d, e) -> map.put(d, unresolved(e)));
    return of(map);
  }

  private static InetSocketAddress unresolved(ServerDirectory.Endpoint e) {
    return InetSocketAddress.createUnresolved(e.host(), e.port());
  }
}
