package org.q2q.client.internal.net;

import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.q2q.proto.HostPort;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This host's interface addresses that a peer could dial: up interfaces, no multicast, no
 * wildcard, no IPv6 link-local (they need a scope id that means nothing on the peer's side).
 * Loopback addresses are offered only to a peer on the same host ({@link #sameHost}).
 */
public final class LocalAddresses {
  private static final Logger log = LoggerFactory.getLogger(LocalAddresses.class);

  private LocalAddresses() {}

  /** The usable addresses of the up interfaces, loopback included. */
  public static List<InetAddress> list() {
    List<InetAddress> out = new ArrayList<>();
    try {
      for (NetworkInterface nif : Collections.list(NetworkInterface.getNetworkInterfaces())) {
        if (!nif.isUp()) {
          continue;
        }
        for (InetAddress a : Collections.list(nif.getInetAddresses())) {
          if (a.isMulticastAddress() || a.isAnyLocalAddress()
              || (a instanceof java.net.Inet6Address && a.isLinkLocalAddress())) {
            continue;
          }
          out.add(a);
        }
      }
    } catch (SocketException e) {
      log.warn("cannot list the network interfaces: {}", e.getMessage());
    }
    return out;
  }

  /**
   * Whether a peer announcing {@code peerCandidates} runs on this host: one of its non-loopback
   * addresses is one of ours (or neither side has any, as in an isolated namespace with only
   * loopback). A wrong guess costs one failed attempt; TLS still checks who answers.
   */
  public static boolean sameHost(List<InetAddress> mine, List<HostPort> peerCandidates) {
    Set<String> ours = mine.stream().filter(a -> !a.isLoopbackAddress())
        .map(a -> Ips.hostPort(a, 1).getHost()).collect(Collectors.toSet());
    boolean peerHasOnlyLoopback = true;
    for (HostPort hp : peerCandidates) {
      InetAddress ip = Ips.literal(hp.getHost());
      if (ip == null || ip.isLoopbackAddress()) {
        continue;
      }
      peerHasOnlyLoopback = false;
      if (ours.contains(hp.getHost())) {
        return true;
      }
    }
    return ours.isEmpty() && peerHasOnlyLoopback && !peerCandidates.isEmpty();
  }

  /** {@code addresses} at {@code port}, loopback ones only if {@code withLoopback}. */
  public static List<HostPort> candidates(List<InetAddress> addresses, int port, boolean withLoopback) {
    List<HostPort> out = new ArrayList<>();
    for (InetAddress a : addresses) {
      if (withLoopback || !a.isLoopbackAddress()) {
        out.add(Ips.hostPort(a, port));
      }
    }
    return out;
  }
}

