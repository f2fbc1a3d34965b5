package org.q2q.client.internal.net;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.List;
import org.q2q.proto.HostPort;

/**
 * The order in which to dial a peer's direct candidates: a pure function (Happy Eyeballs, RFC
 * 8305 section 4). Nearer scopes first (loopback, then private and unique-local networks, then
 * the rest, names last); within a scope the address families alternate, starting with the family
 * of that scope's first candidate (IPv6 when both are there), so one broken family costs one
 * stagger, not all of them. Duplicates are dropped; the order among equals is kept.
 */
public final class CandidateOrder {
  private CandidateOrder() {}

  /** Scope ranks: lower dials first. */
  static final int LOOPBACK = 0;
  static final int PRIVATE = 1;
  static final int OTHER = 2;
  static final int NAME = 3;

  /** {@code candidates} in dialing order. */
  public static List<HostPort> order(List<HostPort> candidates) {
    List<HostPort> unique = candidates.stream().distinct().toList();
    List<HostPort> byScope = new ArrayList<>(unique);
    byScope.sort(Comparator.comparingInt(CandidateOrder::scope)); // stable
    List<HostPort> out = new ArrayList<>(byScope.size());
    int i = 0;
    while (i < byScope.size()) {
      int scope = scope(byScope.get(i));
      Deque<HostPort> v6 = new ArrayDeque<>();
      Deque<HostPort> v4 = new ArrayDeque<>();
      for (; i < byScope.size() && scope(byScope.get(i)) == scope; i++) {
        (isV6(byScope.get(i)) ? v6 : v4).add(byScope.get(i));
      }
      boolean six = !v6.isEmpty();
      while (!v6.isEmpty() || !v4.isEmpty()) {
        Deque<HostPort> q = six ? v6 : v4;
        if (!q.isEmpty()) {
          out.add(q.poll());
        }
        six = !six;
      }
    }
    return out;
  }

  /** The scope rank of a candidate. */
  static int scope(HostPort hp) {
    InetAddress ip = Ips.literal(hp.getHost());
    if (ip == null) {
      return NAME;
    }
    if (ip.isLoopbackAddress()) {
      return LOOPBACK;
    }
    if (ip.isSiteLocalAddress() || ip.isLinkLocalAddress() || isUniqueLocal(ip)) {
      return PRIVATE;
    }
    return OTHER;
  }

  private static boolean isV6(HostPort hp) {
    return hp.getHost().indexOf(':') >= 0;
  }

  private static boolean isUniqueLocal(InetAddress ip) {
    return ip instanceof Inet6Address && (ip.getAddress()[0] & 0xfe) == 0xfc; // fc00::/7
  }
}
