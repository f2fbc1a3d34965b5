package org.q2q.client.internal.net;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.q2q.proto.HostPort;

/** RFC 8305 ordering of direct candidates, a pure function. */
class CandidateOrderTest {
  private static HostPort hp(String host) {
    return HostPort.newBuilder().setHost(host).setPort(7).build();
  }

  private static List<String> order(String... hosts) {
    return CandidateOrder.order(java.util.Arrays.stream(hosts).map(CandidateOrderTest::hp).toList())
        .stream().map(HostPort::getHost).toList();
  }

  @Test
  void nearerScopesFirstThenFamiliesAlternateStartingWithIpv6() {
    assertThat(order("198.51.100.1", "2001:db8::1", "192.168.1.2", "::1", "127.0.0.1", "fd12::3", "10.1.1.1",
        "2001:db8::2", "example.com"))
        .containsExactly("::1", "127.0.0.1", "fd12::3", "192.168.1.2", "10.1.1.1", "2001:db8::1", "198.51.100.1",
            "2001:db8::2", "example.com");
  }

  @Test
  void oneFamilyKeepsItsOrderAndDuplicatesGo() {
    assertThat(order("10.0.0.2", "10.0.0.1", "10.0.0.2")).containsExactly("10.0.0.2", "10.0.0.1");
    assertThat(order()).isEmpty();
  }

  @Test
  void ipv6LeadsAScopeEvenWhenListedLater() {
    assertThat(order("203.0.113.1", "203.0.113.2", "2001:db8::9")).containsExactly("2001:db8::9", "203.0.113.1", "203.0.113.2");
  }
}
