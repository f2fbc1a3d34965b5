package org.q2q.server.internal.limits;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;

/**
 * The network a caller is counted under by rate limits and caps: its IPv4 address, or the /64 of its
 * IPv6 address (one host usually owns a whole /64, so keying by /128 would let it rotate source
 * addresses past every per-address limit). An IPv4-mapped IPv6 address counts as the IPv4 address.
 */
public final class ClientNetwork {
  private ClientNetwork() {}

  /** The network key of {@code remote}, e.g. {@code "192.0.2.7"} or {@code "2001:db8:1:2::/64"}. */
  public static String of(SocketAddress remote) {
    if (remote instanceof InetSocketAddress isa && isa.getAddress() != null) {
      return of(isa.getAddress());
    }
    return String.valueOf(remote);
  }

  /** The network key of {@code a}. */
  public static String of(InetAddress a) {
    if (a instanceof Inet4Address) {
      return a.getHostAddress();
    }
    byte[] b = a.getAddress();
    if (a instanceof Inet6Address && b.length == 16) {
      StringBuilder s = new StringBuilder();
      for (int i = 0; i < 8; i += 2) {
        s.append(Integer.toHexString(((b[i] & 0xff) << 8) | (b[i + 1] & 0xff))).append(':');
      }
      return s.append(":/64").toString();
    }
    return a.getHostAddress();
  }
}
