package org.q2q.tools;

import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.q2q.certstore.Address;
import org.q2q.certstore.ClientHome;
import org.q2q.client.ServerAddress;
import org.q2q.client.ServerLocator;
import org.q2q.tools.ExitCodes.UsageException;
import picocli.CommandLine.Option;

/**
 * {@code --server HOST:PORT}, repeatable: where a domain's presence server is (several: the
 * domain's nodes, tried in that order). Without it: the servers remembered for the identity, then
 * {@code Q2Q_SERVERS}, then {@code <domain>:8788} ({@link ServerLocator}).
 */
public final class ServerOption {
  @Option(names = "--server", paramLabel = "HOST:PORT",
      description = "The presence server; repeat it (or separate with commas) for a domain's several nodes, tried in"
          + " order (default: the ones remembered for the identity, then Q2Q_SERVERS, then DOMAIN:8788).")
  List<String> servers;

  /** The servers given with --server, comma-separated, or null. */
  public String given() {
    return servers == null || servers.isEmpty() ? null : String.join(",", servers);
  }

  /**
   * The servers for {@code address}'s domain, in the order to try them.
   *
   * @param home where servers remembered for {@code address} are looked up, or null
   */
  public List<ServerAddress> locate(Address address, ClientHome home, Map<String, String> env) throws IOException {
    Optional<String> explicit = Optional.ofNullable(given());
    if (explicit.isEmpty() && home != null && !address.isDomain()) {
      explicit = home.server(address);
    }
    try {
      return new ServerLocator(env).locate(address.domainAddress(), explicit);
    } catch (IllegalArgumentException e) {
      throw new UsageException(e.getMessage());
    }
  }

  /** {@code servers} as the user reads them: "host:port", or "host:port or host:port". */
  static String describe(List<ServerAddress> servers) {
    return String.join(" or ", servers.stream().map(ServerAddress::toString).toList());
  }
}
