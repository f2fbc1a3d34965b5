package org.q2q.server.presence;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetSocketAddress;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Where federation looks for a foreign domain's server. */
@Timeout(10)
class DomainServerLocatorTest {
  @Test
  void explicitEntriesWinAndOtherDomainsUseTheDefaultPort() {
    DomainServerLocator l = DomainServerLocator.fromServersVariable("A.test=127.0.0.1:9001, v6.test=[::1]:9002");
    assertThat(l.locate("a.test")).isEqualTo(InetSocketAddress.createUnresolved("127.0.0.1", 9001));
    assertThat(l.locate("v6.test")).isEqualTo(InetSocketAddress.createUnresolved("::1", 9002));
    assertThat(l.locate("example.com")).isEqualTo(InetSocketAddress.createUnresolved("example.com", 8788));
    assertThat(DomainServerLocator.fromServersVariable(null).locate("x.test").getPort()).isEqualTo(8788);
  }

  @Test
  void aDomainNamedSeveralTimesHasEveryNodeInOrder() {
    DomainServerLocator l = DomainServerLocator.fromServersVariable(
        "a.test=10.0.0.5:8788,b.test=h:1,A.test=10.0.0.6,a.test=[::1]:9");
    assertThat(l.locateAll("a.test")).containsExactly(InetSocketAddress.createUnresolved("10.0.0.5", 8788),
        InetSocketAddress.createUnresolved("10.0.0.6", 8788), InetSocketAddress.createUnresolved("::1", 9));
    assertThat(l.locate("a.test")).isEqualTo(InetSocketAddress.createUnresolved("10.0.0.5", 8788));
    assertThat(l.locateAll("c.test")).containsExactly(InetSocketAddress.createUnresolved("c.test", 8788));
    DomainServerLocator lambda = d -> InetSocketAddress.createUnresolved("127.0.0.1", 1);
    assertThat(lambda.locateAll("x.test")).containsExactly(InetSocketAddress.createUnresolved("127.0.0.1", 1));
  }

  @Test
  void malformedEntriesAreRefusedNamingThem() {
    assertThatThrownBy(() -> DomainServerLocator.fromServersVariable("a.test"))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'a.test'");
    assertThatThrownBy(() -> DomainServerLocator.fromServersVariable("a.test=host:http"))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not a number");
    assertThatThrownBy(() -> DomainServerLocator.fromServersVariable("a.test=host:70000"))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("70000");
  }
}
