package org.q2q.client;

import java.util.Objects;
import org.q2q.certstore.ServerDirectory;

/**
 * Where a presence server listens: a host (DNS name or IP literal, IPv6 without brackets) and a
 * TCP port. Parsed from {@code host:port}, {@code [v6]:port} or a bare host (default port 8788).
 * A DNS name stands for every address it resolves to (resolved when the client connects).
 */
public record ServerAddress(String host, int port) {
  /** The presence server's default port (TCP for gRPC, UDP for PTCP and reflexive answers). */
  public static final int DEFAULT_PORT = ServerDirectory.DEFAULT_PORT;

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
   * Parses {@code host:port}, {@code [ipv6]:port}, {@code host} or {@code [ipv6]} (the rule of
   * {@link ServerDirectory.Endpoint#parse}, shared with the server).
   *
   * @throws IllegalArgumentException naming the input and the problem
   */
  public static ServerAddress parse(String text) {
    return of(ServerDirectory.Endpoint.parse(text));
  }

  /**
   * Parses a comma-separated list of servers, the nodes of one domain in the order to try them
   * ({@link ServerDirectory.Endpoint#parseList}).
   *
   * @throws IllegalArgumentException naming the input and the problem
   */
  public static java.util.List<ServerAddress> parseList(String text) {
    return ServerDirectory.Endpoint.parseList(text).stream().map(ServerAddress::of).toList();
  }

  /** The same place as {@code e}. */
  public static ServerAddress of(ServerDirectory.Endpoint e) {
    return new ServerAddress(e.host(), e.port());
  }

  @Override
  public String toString() {
    return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + port;
  }
}
