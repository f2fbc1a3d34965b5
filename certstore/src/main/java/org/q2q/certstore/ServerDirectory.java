package org.q2q.certstore;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The one rule for where a domain's presence server listens, shared by the client (its own and
 * other domains' servers) and the presence server (federation), so both read {@code Q2Q_SERVERS}
 * and the default port the same way:
 *
 * <ul>
 *   <li>{@code Q2Q_SERVERS} is {@code domain=server,...}; each server is {@code host:port},
 *       {@code [ipv6]:port}, {@code host} or {@code [ipv6]} (port {@value #DEFAULT_PORT}); an IPv6
 *       literal needs its brackets; spaces around entries are ignored; a domain named several
 *       times has all those servers (the nodes of one domain), tried in that order, a repeated one
 *       counted once; a malformed
 *       entry is an error naming it, whichever domain is looked up;
 *   <li>a domain with no entry: {@code <domain>:}{@value #DEFAULT_PORT} (brackets of an IPv6
 *       domain removed).
 * </ul>
 *
 * <p>A server given as a DNS name stands for every address the name resolves to, in the
 * resolver's order; names are resolved where connections are made (the client's channel, the
 * server's federation lookup), not here, so this rule stays pure and a node that changes address
 * is found again.
 *
 * Stateless and safe for concurrent use.
 */
public final class ServerDirectory {
  /** The presence servers' default port: TCP for gRPC over TLS, UDP for STUN and PTCP. */
  public static final int DEFAULT_PORT = 8788;

  /**
   * Where a server listens: a host (DNS name or IP literal, IPv6 without brackets) and a port.
   */
  public record Endpoint(String host, int port) {
    public Endpoint {
      Objects.requireNonNull(host, "host");
      if (host.isEmpty()) {
        throw new IllegalArgumentException("empty server host");
      }
      if (port < 1 || port > 65535) {
        throw new IllegalArgumentException("server port " + port + " is not in 1..65535");
      }
    }

    /**
     * Parses {@code host:port}, {@code [ipv6]:port}, {@code host} or {@code [ipv6]}.
     *
     * @throws IllegalArgumentException naming the input and the problem
     */
    public static Endpoint parse(String text) {
      String t = text.trim();
      String host;
      String port = null;
      if (t.startsWith("[")) {
        int close = t.indexOf(']');
        if (close < 0) {
          throw new IllegalArgumentException("server '" + text + "': missing ']' after the IPv6 address");
        }
        host = t.substring(1, close);
        String rest = t.substring(close + 1);
        if (!rest.isEmpty()) {
          if (!rest.startsWith(":")) {
            throw new IllegalArgumentException("server '" + text + "': expected ':port' after ']'");
          }
          port = rest.substring(1);
        }
      } else {
        int colon = t.lastIndexOf(':');
        if (colon >= 0 && t.indexOf(':') != colon) {
          throw new IllegalArgumentException(
              "server '" + text + "': write IPv6 addresses in brackets, e.g. [::1]:" + DEFAULT_PORT);
        }
        host = colon >= 0 ? t.substring(0, colon) : t;
        port = colon >= 0 ? t.substring(colon + 1) : null;
      }
      if (host.isEmpty() || host.chars().anyMatch(c -> Character.isWhitespace(c) || Character.isISOControl(c))) {
        throw new IllegalArgumentException("server '" + text + "': bad host");
      }
      int p = DEFAULT_PORT;
      if (port != null) {
        try {
          p = Integer.parseInt(port);
        } catch (NumberFormatException e) {
          throw new IllegalArgumentException("server '" + text + "': port '" + port + "' is not a number");
        }
        if (p < 1 || p > 65535) {
          throw new IllegalArgumentException("server '" + text + "': port " + p + " is not in 1..65535");
        }
      }
      return new Endpoint(host, p);
    }

    /**
     * Parses a comma-separated list of servers (each as for {@link #parse}), in order: the nodes of
     * one domain, as {@code --server} and the server remembered for an identity give them.
     *
     * @throws IllegalArgumentException naming the malformed server, or if there is none
     */
    public static List<Endpoint> parseList(String text) {
      List<Endpoint> out = new ArrayList<>();
      for (String part : text.split(",", -1)) {
        if (!part.isBlank()) {
          out.add(parse(part));
        }
      }
      if (out.isEmpty()) {
        throw new IllegalArgumentException("server '" + text + "': no host:port in it");
      }
      return List.copyOf(out);
    }

    @Override
    public String toString() {
      return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + port;
    }
  }

  private ServerDirectory() {}

  /**
   * The entries of a {@code Q2Q_SERVERS} value, by lower-case domain, each domain's servers in
   * the order named (null or blank: none).
   *
   * @throws IllegalArgumentException naming the malformed entry
   */
  public static Map<String, List<Endpoint>> parseServers(String value) {
    Map<String, List<Endpoint>> out = new LinkedHashMap<>();
    if (value == null || value.isBlank()) {
      return out;
    }
    for (String entry : value.split(",")) {
      String e = entry.trim();
      if (e.isEmpty()) {
        continue;
      }
      int eq = e.indexOf('=');
      if (eq <= 0) {
        throw new IllegalArgumentException("Q2Q_SERVERS entry '" + e + "' is not domain=host:port");
      }
      String domain;
      Endpoint server;
      try {
        domain = Address.ofDomain(e.substring(0, eq).trim()).domain();
        server = Endpoint.parse(e.substring(eq + 1));
      } catch (IllegalArgumentException x) {
        throw new IllegalArgumentException("Q2Q_SERVERS entry '" + e + "': " + x.getMessage(), x);
      }
      List<Endpoint> servers = out.computeIfAbsent(domain, d -> new ArrayList<>());
      if (!servers.contains(server)) {
        servers.add(server);
      }
    }
    out.replaceAll((d, servers) -> List.copyOf(servers));
    return Collections.unmodifiableMap(out);
  }

  /** {@code <domain>:8788}, the server of a domain with no entry. */
  public static Endpoint defaultFor(Address domain) {
    String host = domain.domain();
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    }
    return new Endpoint(host, DEFAULT_PORT);
  }

  /**
   * The servers of {@code domain}, in the order to try them: its entries in {@code q2qServers},
   * else {@link #defaultFor} alone.
   *
   * @throws IllegalArgumentException if {@code q2qServers} is malformed
   */
  public static List<Endpoint> locate(Address domain, String q2qServers) {
    List<Endpoint> e = parseServers(q2qServers).get(domain.domainAddress().domain());
    return e != null ? e : List.of(defaultFor(domain.domainAddress()));
  }
}
