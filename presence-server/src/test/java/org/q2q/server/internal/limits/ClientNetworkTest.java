package org.q2q.server.internal.limits;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.q2q.server.MutableClock;

class ClientNetworkTest {
  @Test
  void ipv4IsTheAddressAndIpv6IsItsSlash64() throws Exception {
    assertThat(ClientNetwork.of(new InetSocketAddress(InetAddress.getByName("192.0.2.7"), 1))).isEqualTo("192.0.2.7");
    String a = ClientNetwork.of(InetAddress.getByName("2001:db8:1:2::1"));
    assertThat(a).isEqualTo("2001:db8:1:2::/64");
    assertThat(ClientNetwork.of(InetAddress.getByName("2001:db8:1:2:ffff:1:2:3"))).isEqualTo(a);
    assertThat(ClientNetwork.of(InetAddress.getByName("2001:db8:1:3::1"))).isNotEqualTo(a);
    assertThat(ClientNetwork.of(InetAddress.getByName("::ffff:192.0.2.7"))).isEqualTo("192.0.2.7");
  }

  @Test
  void tokenBucketsRefillAtTheirRateAndKeepFewKeys() {
    MutableClock clock = new MutableClock();
    TokenBuckets b = new TokenBuckets(2, 1, clock, 3);
    assertThat(b.tryTake("n")).isTrue();
    assertThat(b.tryTake("n")).isTrue();
    assertThat(b.tryTake("n")).isFalse();
    assertThat(b.secondsUntilToken("n")).isEqualTo(1);
    assertThat(b.tryTake("other")).isTrue(); // networks are independent
    clock.advance(Duration.ofMillis(1000));
    assertThat(b.tryTake("n")).isTrue();
    assertThat(b.tryTake("n")).isFalse();
    for (int i = 0; i < 10; i++) {
      b.tryTake("k" + i);
    }
    assertThat(b.size()).isEqualTo(3);
  }
}
