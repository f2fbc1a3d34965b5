package org.q2q.client;

import java.util.Map;
import java.util.Optional;
import org.q2q.certstore.Address;
import org.q2q.certstore.ServerDirectory;

/**
 * Finds the presence server of a domain, in this order: an explicit or remembered server
 * ({@code --server}, kept per identity), the {@code Q2Q_SERVERS} environment variable
 * ({@code domain=host:port,...}), then {@code <domain>:8788} ({@link ServerDirectory}, the rule the
 * server's federation uses too).
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
    return ServerAddress.of(ServerDirectory.locate(domain, env.get("Q2Q_SERVERS")));
  }
}
