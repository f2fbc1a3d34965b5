package org.q2q.server.presence;

import java.net.InetSocketAddress;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.q2q.certstore.Address;
import org.q2q.certstore.ServerDirectory;

/**
 * Where a foreign domain's presence server listens, for federation (the server asks it for the
 * domain's CA with Identify). The same rules as the client's server lookup: an explicit map
 * ({@code Q2Q_SERVERS=domain=host:port,...}, a domain named several times having several nodes,
 * tried in that order), else {@code <domain>:8788}.
 */
@FunctionalInterface
public interface DomainServerLocator {
  /** The presence servers' default port. */
  int DEFAULT_PORT = ServerDirectory.DEFAULT_PORT;

  /**
   * The (first) server of {@code domain} (lower-case, as in an {@link Address}); unresolved.
   *
   * @throws IllegalArgumentException if the domain has no usable server
   */
  InetSocketAddress locate(String domain);

  /**
   * Every server of {@code domain}, in the order to try them (never empty); unresolved. A locator
   * given as a lambda has the one server of {@link #locate}.
   *
   * @throws IllegalArgumentException if the domain has no usable server
   */
  default List<InetSocketAddress> locateAll(String domain) {
    return List.of(locate(domain));
  }

  /** {@code <domain>:8788}. */
  static DomainServerLocator defaultPort() {
    return domain -> unresolved(ServerDirectory.defaultFor(Address.ofDomain(domain)));
  }

  /** The servers in {@code servers} (domain -> server), else {@code <domain>:8788}. */
  static DomainServerLocator of(Map<String, InetSocketAddress> servers) {
    Map<String, List<InetSocketAddress>> lists = new HashMap<>();
    servers.forEach((d, s) -> lists.put(d, List.of(s)));
    return ofNodes(lists);
  }

  /** The nodes in {@code servers} (domain -> its servers, in order), else {@code <domain>:8788}. */
  static DomainServerLocator ofNodes(Map<String, List<InetSocketAddress>> servers) {
    Map<String, List<InetSocketAddress>> copy = new HashMap<>();
    servers.forEach((d, s) -> {
      if (!s.isEmpty()) {
        copy.put(Address.ofDomain(d).domain(), List.copyOf(s));
      }
    });
    DomainServerLocator fallback = defaultPort();
    return new DomainServerLocator() {
      @Override
      public InetSocketAddress locate(String domain) {
        return locateAll(domain).get(0);
      }

      @Override
      public List<InetSocketAddress> locateAll(String domain) {
        List<InetSocketAddress> s = copy.get(domain.toLowerCase(Locale.ROOT));
        return s != null ? s : List.of(fallback.locate(domain));
      }
    };
  }

  /**
   * The servers named by a {@code Q2Q_SERVERS} value, else {@code <domain>:8788}: the rule of
   * {@link ServerDirectory}, the same as the client's.
   *
   * @throws IllegalArgumentException naming the malformed entry
   */
  static DomainServerLocator fromServersVariable(String value) {
    Map<String, List<InetSocketAddress>> map = new HashMap<>();
    ServerDirectory.parseServers(value).forEach(
        (d, nodes) -> map.put(d, nodes.stream().map(DomainServerLocator::unresolved).toList()));
    return ofNodes(map);
  }

  private static InetSocketAddress unresolved(ServerDirectory.Endpoint e) {
    return InetSocketAddress.createUnresolved(e.host(), e.port());
  }
}
