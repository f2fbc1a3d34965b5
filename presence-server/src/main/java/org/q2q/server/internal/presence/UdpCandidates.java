package org.q2q.server.internal.presence;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.q2q.proto.HostPort;

/**
 * The UDP candidates a connector announces in Inbound, checked and normalised: IP literals only
 * (never a DNS name: the server must not resolve names for clients, and a name could later point
 * anywhere), ports 1..65535, at most {@link #MAX} of them. BindUdp may then aim only at one of
 * them ({@link #contains}), compared as addresses, so "::1" matches "0:0:0:0:0:0:0:1".
 * Immutable.
 */
public final class UdpCandidates {
  /** Candidates one Inbound may announce. */
  public static final int MAX = 16;
  /** The longest IP literal accepted (an IPv6 address with an embedded IPv4 is 45 characters). */
  private static final int MAX_LITERAL = 45;
  private static final Pattern IPV4 = Pattern.compile("\\d{1,3}(\\.\\d{1,3}){3}");
  private static final Pattern IPV6 = Pattern.compile("[0-9a-fA-F:.]{2,45}");
  /** No candidates. */
  public static final UdpCandidates NONE = new UdpCandidates(Set.of());

  private final Set<InetSocketAddress> addresses;

  private UdpCandidates(Set<InetSocketAddress> addresses) {
    this.addresses = addresses;
  }

  /**
   * Checks and normalises the candidates of an InboundRequest.
   *
   * @throws StatusRuntimeException INVALID_ARGUMENT naming the first bad entry
   */
  public static UdpCandidates of(List<HostPort> candidates) {
    if (candidates.size() > MAX) {
      throw invalid("at most " + MAX + " udp_candidates, got " + candidates.size());
    }
    return new UdpCandidates(candidates.stream().map(c -> parse(c, "udp_candidates"))
        .collect(Collectors.toUnmodifiableSet()));
  }

  /**
   * One host and port as an address.
   *
   * @param what the field named in the error
   * @throws StatusRuntimeException INVALID_ARGUMENT if the host is not an IP literal or the port is
   *     not in 1..65535
   */
  public static InetSocketAddress parse(HostPort hp, String what) {
    String host = hp.getHost();
    if (hp.getPort() < 1 || hp.getPort() > 65535) {
      throw invalid(what + ": port " + hp.getPort() + " is not in 1..65535");
    }
    boolean literal = host.length() <= MAX_LITERAL
        && (IPV4.matcher(host).matches() || (host.indexOf(':') >= 0 && IPV6.matcher(host).matches()));
    if (!literal) {
      throw invalid(what + ": '" + ListenerTickets.shorten(host) + "' is not an IP address literal "
          + "(v4 or v6, no brackets, no name)");
    }
    try {
      // never InetAddress.getByName on a dotted string: "999.1.1.1" is no literal to it and it would ask DNS
      InetAddress a = host.indexOf(':') >= 0 ? InetAddress.getByName(host) : InetAddress.getByAddress(ipv4(host));
      return new InetSocketAddress(a, hp.getPort());
    } catch (UnknownHostException e) {
      throw invalid(what + ": '" + host + "' is not an IP address literal (" + e.getMessage() + ")");
    }
  }

  /** The four bytes of a dotted quad matched by {@link #IPV4}. */
  private static byte[] ipv4(String host) throws UnknownHostException {
    String[] parts = host.split("\\.");
    byte[] b = new byte[4];
    for (int i = 0; i < 4; i++) {
      int v = Integer.parseInt(parts[i]);
      if (v > 255) {
        throw new UnknownHostException("octet " + v + " is over 255");
      }
      b[i] = (byte) v;
    }
    return b;
  }

  /** Whether {@code address} is one of the candidates. */
  public boolean contains(InetSocketAddress address) {
    return addresses.contains(address);
  }

  /** The candidates (normalised). */
  public Set<InetSocketAddress> addresses() {
    return addresses;
  }

  private static StatusRuntimeException invalid(String what) {
    return Status.INVALID_ARGUMENT.withDescription(what).asRuntimeException();
  }

  @Override
  public String toString() {
    return addresses.toString();
  }
}
