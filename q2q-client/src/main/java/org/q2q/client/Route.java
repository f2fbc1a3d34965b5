package org.q2q.client;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.Objects;

/**
 * The path that carries a peer session: a connection method's kind and where it goes. Shown to
 * people with {@link #toString()} ("direct tcp 10.0.0.5:41234", "relay through q2q.example.com:8788").
 *
 * @param kind the connection method
 * @param via {@code host:port} (IPv6 in brackets): the peer's transport address for direct kinds,
 *     the relaying presence server for {@link Kind#RELAY}
 */
public record Route(Kind kind, String via) {
  /** Connection method kinds, in the racer's order of preference. */
  public enum Kind {
    /** A TCP connection this side opened to the peer. */
    TCP("direct tcp"),
    /** A TCP connection the peer opened back to this side (it could not be reached directly). */
    REVERSE_TCP("reverse tcp"),
    /** PTCP over UDP, through NATs by hole punching. */
    PTCP("ptcp"),
    /** Through the presence server's relay. */
    RELAY("relay through");

    private final String label;

    Kind(String label) {
      this.label = label;
    }

    /** True for every kind whose bytes go straight between the peers. */
    public boolean direct() {
      return this != RELAY;
    }
  }

  public Route {
    Objects.requireNonNull(kind, "kind");
    Objects.requireNonNull(via, "via");
  }

  /** A direct route of {@code kind} to {@code peer}. */
  public static Route direct(Kind kind, InetSocketAddress peer) {
    return new Route(kind, hostPort(peer));
  }

  /** The relay route through the server at {@code server} ({@code host:port}). */
  public static Route relay(String server) {
    return new Route(Kind.RELAY, server);
  }

  /** {@code host:port} of a socket address, with IPv6 hosts in brackets and no resolution. */
  public static String hostPort(InetSocketAddress a) {
    InetAddress ip = a.getAddress();
    String host = ip != null ? org.q2q.client.internal.net.Ips.format(ip) : a.getHostString();
    return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + a.getPort();
  }

  @Override
  public String toString() {
    return kind.label + " " + via;
  }
}
