package org.q2q.ptcp.netty;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.InterfaceAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.ToIntFunction;
import org.q2q.ptcp.PtcpEndpoint;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The largest UDP payload the local link towards an address carries: the upper bound RFC 8899 gives
 * path-MTU probing. A destination on this host (loopback or one of our own addresses) uses the
 * loopback interface; one inside a directly attached subnet uses that interface; anything routed
 * gives 0 (unknown: the configured maximum applies).
 *
 * <p>Interfaces are read at most every {@link #REFRESH_NANOS}, so a lookup (on every connect and
 * SYN) is a scan of a short in-memory list. Safe for concurrent use.
 */
final class LinkMtu implements ToIntFunction<InetSocketAddress> {
  private static final Logger log = LoggerFactory.getLogger(LinkMtu.class);
  static final long REFRESH_NANOS = 30_000_000_000L;
  private static final int IPV4_UDP_HEADERS = 20 + 8;
  private static final int IPV6_UDP_HEADERS = 40 + 8;

  private record Subnet(byte[] network, int prefixBits, int mtu) {
    boolean contains(byte[] addr) {
      if (addr.length != network.length) {
        return false;
      }
      int bits = prefixBits;
      for (int i = 0; i < addr.length && bits > 0; i++, bits -= 8) {
        int mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
        if ((addr[i] & mask) != (network[i] & mask)) {
          return false;
        }
      }
      return true;
    }
  }

  private record Snapshot(long takenAt, int loopbackMtu, Set<InetAddress> own, List<Subnet> subnets) {}

  private volatile Snapshot snapshot;

  @Override
  public int applyAsInt(InetSocketAddress remote) {
    InetAddress a = remote.getAddress();
    if (a == null) {
      return 0;
    }
    Snapshot s = current();
    int mtu = 0;
    if (a.isLoopbackAddress() || s.own.contains(a)) {
      mtu = s.loopbackMtu;
    } else if (!a.isAnyLocalAddress()) {
      byte[] bytes = a.getAddress();
      for (Subnet n : s.subnets) {
        if (n.contains(bytes)) {
          mtu = n.mtu;
          break;
        }
      }
    }
    if (mtu <= 0) {
      return 0;
    }
    int headers = a instanceof Inet6Address ? IPV6_UDP_HEADERS : IPV4_UDP_HEADERS;
    return Math.max(0, Math.min(mtu - headers, PtcpEndpoint.MAX_UDP_PAYLOAD));
  }

  private Snapshot current() {
    Snapshot s = snapshot;
    long now = System.nanoTime();
    if (s == null || now - s.takenAt > REFRESH_NANOS) {
      s = read(now);
      snapshot = s;
    }
    return s;
  }

  private static Snapshot read(long now) {
    int loopback = 0;
    Set<InetAddress> own = new HashSet<>();
    List<Subnet> subnets = new ArrayList<>();
    try {
      var all = NetworkInterface.getNetworkInterfaces();
      while (all != null && all.hasMoreElements()) {
        NetworkInterface nif = all.nextElement();
        if (!nif.isUp()) {
          continue;
        }
        int mtu = nif.getMTU();
        if (nif.isLoopback()) {
          loopback = Math.max(loopback, mtu);
        }
        for (InterfaceAddress ia : nif.getInterfaceAddresses()) {
          own.add(ia.getAddress());
          if (!nif.isLoopback() && !nif.isPointToPoint() && ia.getNetworkPrefixLength() > 0) {
            subnets.add(new Subnet(ia.getAddress().getAddress(), ia.getNetworkPrefixLength(), mtu));
          }
        }
      }
    } catch (SocketException e) {
      log.debug("cannot list network interfaces; link MTU unknown", e);
    }
    return new Snapshot(now, loopback, Set.copyOf(own), List.copyOf(subnets));
  }
}
