package org.q2q.client;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.q2q.certstore.Address;
import org.q2q.certstore.ServerDirectory;

/**
 * Finds the presence servers of a domain (its nodes, in the order to try them), in this order: an
 * explicit or remembered server list ({@code --server}, kept per identity; comma-separated), the
 * {@code Q2Q_SERVERS} environment variable ({@code domain=host:port,...}, a domain named several
 * times having several nodes), then {@code <domain>:8788} ({@link ServerDirectory}, the rule the
 * server's federation uses too). A DNS name stands for all the addresses it resolves to; the
 * client resolves it when it connects.
 */
public final class ServerLocator {
  private final Map<String, String> env;

  /** A locator reading {@code Q2Q_SERVERS} from {@code env}. */
  public ServerLocator(Map<String, String> env) {
    this.env = Map.copyOf(env);
  }

  /**
   * The servers of {@code domain}, in the order to try them (never empty).
   *
   * @param explicit servers given on the command line or remembered for the identity, if any
   *     ({@code host:port}, several separated by commas)
   * @throws IllegalArgumentException if {@code Q2Q_SERVERS} or {@code explicit} is malformed
   */
  public List<ServerAddress> locate(Address domain, Optional<String> explicit) {
    if (explicit.isPresent()) {
      return ServerAddress.parseList(explicit.get());
    }
    return ServerDirectory.locate(domain, env.get("Q2Q_SERVERS")).stream().map(ServerAddress::of).toList();
  }
}
