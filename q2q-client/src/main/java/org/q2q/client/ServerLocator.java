package org.q2q.client;

import java.util.Map;
import java.util.Optional;
import org.q2q.certstore.Address;

/**
 * Finds the presence server of a domain, in this order: an explicit or remembered server
 * ({@code --server}, kept per identity), the {@code Q2Q_SERVERS} environment variable
 * ({@code domain=host:port,...}), then {@code <domain>:8788}.
 */
public final class ServerLocator {
  private final Map<String, String> env;

  /** A locator reading {@code Q2Q_SERVERS} from {@code env}. */
  public ServerLocator(Map<String, String> env) {
    this.env = Map.copyOf(env);
  }

  /**
   * The server for {@code domain}.
   *
   * @param explicit a server given on the command line or remembered for the identity, if any
   * @throws IllegalArgumentException if {@code Q2Q_SERVERS} or {@code explicit} is malformed
   */
  public ServerAddress locate(Address domain, Optional<String> explicit) {
    if (explicit.isPresent()) {
      return ServerAddress.parse(explicit.get());
    }
    String list = env.get("Q2Q_SERVERS");
    if (list != null && !list.isBlank()) {
      for (String entry : list.split(",")) {
        String e = entry.trim();
        if (e.isEmpty()) {
          continue;
        }
        int eq = e.indexOf('=');
        if (eq <= 0) {
          throw new IllegalArgumentException(
              "Q2Q_SERVERS entry '" + e + "' is not domain=host:port");
        }
        if (Address.ofDomain(e.substring(0, eq)).equals(domain.domainAddress())) {
          return ServerAddress.parse(e.substring(eq + 1));
        }
      }
    }
    String host = domain.domain();
    if (host.startsWith("[")) {
      host = host.substring(1, host.length() - 1);
    }
    return new ServerAddress(host, ServerAddress.DEFAULT_PORT);
  }
}
