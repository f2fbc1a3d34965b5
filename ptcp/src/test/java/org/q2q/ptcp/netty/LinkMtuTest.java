package org.q2q.ptcp.netty;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.util.Collections;
import org.junit.jupiter.api.Test;
import org.q2q.ptcp.PtcpEndpoint;

/** The local link's MTU bounds path-MTU probing: loopback is large, routed destinations unknown. */
class LinkMtuTest {
  private final LinkMtu links = new LinkMtu();

  private static int loopbackMtu() throws Exception {
    for (NetworkInterface n : Collections.list(NetworkInterface.getNetworkInterfaces())) {
      if (n.isUp() && n.isLoopback()) {
        return n.getMTU();
      }
    }
    throw new IllegalStateException("no loopback interface");
  }

  @Test
  void loopbackPeersGetTheLoopbackMtuMinusHeadersCappedAtTheUdpMaximum() throws Exception {
    int expected = Math.min(loopbackMtu() - 28, PtcpEndpoint.MAX_UDP_PAYLOAD);
    assertThat(links.applyAsInt(new InetSocketAddress("127.0.0.1", 9))).isEqualTo(expected);
    assertThat(links.applyAsInt(new InetSocketAddress("127.0.0.2", 9))).isEqualTo(expected);
  }

  @Test
  void ourOwnAddressesRouteOverLoopback() throws Exception {
    int expected = Math.min(loopbackMtu() - 28, PtcpEndpoint.MAX_UDP_PAYLOAD);
    for (NetworkInterface n : Collections.list(NetworkInterface.getNetworkInterfaces())) {
      if (!n.isUp() || n.isLoopback()) {
        continue;
      }
      for (InetAddress a : Collections.list(n.getInetAddresses())) {
        if (a.getAddress().length == 4) {
          assertThat(links.applyAsInt(new InetSocketAddress(a, 9))).as(a.toString()).isEqualTo(expected);
        }
      }
    }
  }

  @Test
  void routedAndUnresolvedDestinationsAreUnknown() {
    // 203.0.113.0/24 is TEST-NET-3: never on a link of this machine.
    assertThat(links.applyAsInt(new InetSocketAddress("203.0.113.7", 9))).isZero();
    assertThat(links.applyAsInt(InetSocketAddress.createUnresolved("example.invalid", 9))).isZero();
    assertThat(links.applyAsInt(new InetSocketAddress("0.0.0.0", 9))).isZero();
  }
}
