package org.q2q.client.internal.net;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import org.q2q.proto.HostPort;

/** IP literals and {@link HostPort}s, without ever asking DNS. */
public final class Ips {
  private Ips() {}

  /**
   * The address {@code host} spells if it is an IPv4 or IPv6 literal, else null (a name). Never
   * asks DNS: {@code InetAddress.getByName} would look up "999.1.1.1" or "zz::1" as names.
   */
  public static InetAddress literal(String host) {
    if (host == null || host.isEmpty() || host.length() > 45) {
      return null;
    }
    try {
      if (host.indexOf(':') >= 0) {
        for (int i = 0; i < host.length(); i++) {
          char c = host.charAt(i);
          if (Character.digit(c, 16) < 0 && c != ':' && c != '.') {
            return null; // not hex, colons and an embedded IPv4 tail
          }
        }
        return InetAddress.getByName(host); // an IPv6 literal of these characters is parsed, never resolved
      }
      String[] parts = host.split("\\.", -1);
      if (parts.length != 4) {
        return null;
      }
      byte[] b = new byte[4];
      for (int i = 0; i < 4; i++) {
        String p = parts[i];
        if (p.isEmpty() || p.length() > 3 || !p.chars().allMatch(Character::isDigit)) {
          return null;
        }
        int v = Integer.parseInt(p);
        if (v > 255) {
          return null;
        }
        b[i] = (byte) v;
      }
      return InetAddress.getByAddress(b);
    } catch (UnknownHostException | SecurityException e) {
      return null;
    }
  }

  /** The wire form of {@code ip} and {@code port}. */
  public static HostPort hostPort(InetAddress ip, int port) {
    return HostPort.newBuilder().setHost(format(ip)).setPort(port).build();
  }

  /**
   * The text of {@code ip}: dotted IPv4, or IPv6 in the RFC 5952 form ({@code ::1}, not {@code
   * 0:0:0:0:0:0:0:1}), without a scope id, so one address is always spelled one way.
   */
  public static String format(InetAddress ip) {
    byte[] b = ip.getAddress();
    if (b.length == 4) {
      return ip.getHostAddress();
    }
    int[] g = new int[8];
    for (int i = 0; i < 8; i++) {
      g[i] = ((b[2 * i] & 0xff) << 8) | (b[2 * i + 1] & 0xff);
    }
    int bestStart = -1;
    int bestLen = 1; // a single zero group is not shortened
    for (int i = 0; i < 8; ) {
      if (g[i] != 0) {
        i++;
        continue;
      }
      int j = i;
      while (j < 8 && g[j] == 0) {
        j++;
      }
      if (j - i > bestLen) {
        bestStart = i;
        bestLen = j - i;
      }
      i = j;
    }
    StringBuilder out = new StringBuilder(39);
    for (int i = 0; i < 8; i++) {
      if (i == bestStart) {
        out.append("::");
        i += bestLen - 1;
        continue;
      }
      if (out.length() > 0 && out.charAt(out.length() - 1) != ':') {
        out.append(':');
      }
      out.append(Integer.toHexString(g[i]));
    }
    return out.toString();
  }

  /** A socket address for {@code hp}: resolved if a literal, else left for the connect to resolve. */
  public static InetSocketAddress socketAddress(HostPort hp) {
    InetAddress ip = literal(hp.getHost());
    return ip != null ? new InetSocketAddress(ip, hp.getPort()) : InetSocketAddress.createUnresolved(hp.getHost(), hp.getPort());
  }

  /** {@code host:port} for people, IPv6 in brackets. */
  public static String toString(HostPort hp) {
    return (hp.getHost().indexOf(':') >= 0 ? "[" + hp.getHost() + "]" : hp.getHost()) + ":" + hp.getPort();
  }

  /** Whether {@code hp} is usable as a direct candidate: a port in range and a non-empty host. */
  public static boolean valid(HostPort hp) {
    return !hp.getHost().isEmpty() && hp.getHost().length() <= 255 && hp.getPort() >= 1 && hp.getPort() <= 65535;
  }
}
