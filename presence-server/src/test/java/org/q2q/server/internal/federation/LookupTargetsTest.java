package org.q2q.server.internal.federation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.q2q.server.presence.DomainServerLocator;

/** M1: which servers a federation lookup may dial (DNS replaced by a map). */
class LookupTargetsTest {
  private static InetAddress ip(String literal) {
    try {
      return InetAddress.getByName(literal);
    } catch (UnknownHostException e) {
      throw new AssertionError(e);
    }
  }

  private final Map<String, String> dns = Map.of(
      "public.test", "93.184.216.34",
      "intranet.test", "10.0.0.5",
      "loop.test", "127.0.0.1",
      "ula.test", "fd00::1",
      "mapped.test", "::ffff:192.168.1.1",
      "cgnat.test", "100.64.0.1",
      "meta.test", "169.254.169.254");
  private final LookupTargets targets = new LookupTargets(h -> {
    if (h.equals("multi.test")) {
      return new InetAddress[] {ip("93.184.216.35"), ip("93.184.216.36")};
    }
    String a = dns.get(h);
    if (a == null) {
      throw new UnknownHostException(h);
    }
    return new InetAddress[] {ip(a)};
  });
  private final DomainServerLocator byName = DomainServerLocator.defaultPort();

  @Test
  void aPublicDomainIsDialledAtTheAddressThatWasChecked() {
    InetSocketAddress t = targets.targets("public.test", byName.locateAll("public.test")).get(0);
    assertThat(t.isUnresolved()).isFalse();
    assertThat(t.getAddress()).isEqualTo(ip("93.184.216.34"));
    assertThat(t.getPort()).isEqualTo(8788);
  }

  @Test
  void privateRangesAfterResolutionAndIpLiteralsAreRefused() {
    for (String d : new String[] {"intranet.test", "loop.test", "ula.test", "mapped.test", "cgnat.test", "meta.test"}) {
      assertThatThrownBy(() -> targets.target(d, byName.locate(d))).as(d)
          .isInstanceOf(IllegalStateException.class).hasMessageContaining("non-public");
    }
    for (String d : new String[] {"10.0.0.5", "[fd00::1]", "127.0.0.1"}) {
      assertThatThrownBy(() -> targets.target(d, byName.locate(d))).as(d)
          .isInstanceOf(IllegalStateException.class).hasMessageContaining("IP literal");
    }
    assertThatThrownBy(() -> targets.target("nowhere.test", byName.locate("nowhere.test")))
        .hasMessageContaining("does not resolve");
  }

  @Test
  void aConfiguredServerIsDialledAsConfigured() {
    DomainServerLocator configured = DomainServerLocator.of(Map.of("intranet.test",
        InetSocketAddress.createUnresolved("10.0.0.7", 9000)));
    InetSocketAddress t = targets.target("intranet.test", configured.locate("intranet.test")).get(0);
    assertThat(t.getHostString()).isEqualTo("10.0.0.7");
    assertThat(t.getPort()).isEqualTo(9000);
  }

  @Test
  void aDomainsNodesAreDialledInOrderEachNameWithAllItsAddresses() {
    DomainServerLocator nodes = DomainServerLocator.fromServersVariable(
        "multi.test=10.0.0.7:9000,multi.test=multi.test:9001,multi.test=10.0.0.8");
    assertThat(targets.targets("multi.test", nodes.locateAll("multi.test")))
        .extracting(a -> a.getHostString() + ":" + a.getPort())
        .containsExactly("10.0.0.7:9000", "93.184.216.35:9001", "93.184.216.36:9001", "10.0.0.8:8788");
    // the domain's own name resolving to a private address is left out, the configured nodes kept
    DomainServerLocator mixed = DomainServerLocator.fromServersVariable("intranet.test=intranet.test,intranet.test=h:1");
    assertThat(targets.targets("intranet.test", mixed.locateAll("intranet.test")))
        .extracting(a -> a.getHostString() + ":" + a.getPort()).containsExactly("h:1");
    assertThatThrownBy(() -> targets.targets("loop.test", DomainServerLocator.defaultPort().locateAll("loop.test")))
        .hasMessageContaining("non-public");
  }
}
