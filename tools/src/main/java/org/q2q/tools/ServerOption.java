package org.q2q.tools;

import java.io.IOException;
import java.util.Map;
import java.util.Optional;
import org.q2q.certstore.Address;
import org.q2q.certstore.ClientHome;
import org.q2q.client.ServerAddress;
import org.q2q.client.ServerLocator;
import org.q2q.tools.ExitCodes.UsageException;
import picocli.CommandLine.Option;

/**
 * {@code --server HOST:PORT}: where a domain's presence server is. Without it: the server
 * remembered for the identity, then {@code Q2Q_SERVERS}, then {@code <domain>:8788}
 * ({@link ServerLocator}).
 */
public final class ServerOption {
  @Option(names = "--server", paramLabel = "HOST:PORT",
      description = "The presence server (default: the one remembered for the identity, then Q2Q_SERVERS, then DOMAIN:8788).")
  String server;

  /** The server given with --server, or null. */
  public String given() {
    return server;
  }

  /**
   * The server for {@code address}'s domain.
   *
   * @param home where a server remembered for {@code address} is looked up, or null
   */
  public ServerAddress locate(Address address, ClientHome home, Map<String, String> env) throws IOException {
    Optional<String> explicit = Optional.ofNullable(server);
    if (explicit.isEmpty() && home != null && !address.isDomain()) {
      explicit = home.server(address);
    }
    try {
      return new ServerLocator(env).locate(address.domainAddress(), explicit);
    } catch (IllegalArgumentException e) {
      throw new UsageException(e.getMessage());
    }
  }
}
