package org.q2q.client.internal.net;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import org.junit.jupiter.api.Test;

class IpsTest {
  private static String f(String literal) throws Exception {
    return Ips.format(InetAddress.getByName(literal));
  }

  @Test
  void ipv6IsSpelledTheRfc5952Way() throws Exception {
    assertThat(f("0:0:0:0:0:0:0:1")).isEqualTo("::1");
    assertThat(f("::")).isEqualTo("::");
    assertThat(f("2001:db8:0:0:1:0:0:1")).isEqualTo("2001:db8::1:0:0:1"); // the first of equal runs
    assertThat(f("2001:db8:0:1:1:1:1:1")).isEqualTo("2001:db8:0:1:1:1:1:1"); // one zero group stays
    assertThat(f("fe80:0:0:0:0:0:0:0")).isEqualTo("fe80::");
    assertThat(f("10.0.0.7")).isEqualTo("10.0.0.7");
  }

  @Test
  void literalsParseWithoutDnsAndNamesDoNot() {
    assertThat(Ips.literal("127.0.0.1")).isNotNull();
    assertThat(Ips.literal("::1")).isNotNull();
    assertThat(Ips.literal("example.com")).isNull();
    assertThat(Ips.literal("")).isNull();
    // not literals: looked up as names by InetAddress.getByName, so never passed to it
    assertThat(Ips.literal("999.1.1.1")).isNull();
    assertThat(Ips.literal("1.2.3")).isNull();
    assertThat(Ips.literal("zz::1")).isNull();
    assertThat(Ips.literal("10.0.0.256")).isNull();
    assertThat(Ips.literal("::ffff:10.0.0.1")).isNotNull();
  }
}
