package org.q2q.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.q2q.certstore.Address;

/** Server addresses and the lookup order: explicit, Q2Q_SERVERS, DOMAIN:8788. */
class ServerLocatorTest {
  @Test
  void serverAddressesParseHostPortIpv6AndDefaultPort() {
    assertThat(ServerAddress.parse("127.0.0.1:9000")).isEqualTo(new ServerAddress("127.0.0.1", 9000));
    assertThat(ServerAddress.parse("example.com")).isEqualTo(new ServerAddress("example.com", 8788));
    assertThat(ServerAddress.parse("[::1]:9000")).isEqualTo(new ServerAddress("::1", 9000));
    assertThat(ServerAddress.parse("[::1]").toString()).isEqualTo("[::1]:8788");
    assertThatThrownBy(() -> ServerAddress.parse("::1:9000")).hasMessageContaining("brackets");
    assertThatThrownBy(() -> ServerAddress.parse("host:http")).hasMessageContaining("not a number");
    assertThatThrownBy(() -> ServerAddress.parse("host:70000")).hasMessageContaining("not in 1..65535");
    assertThatThrownBy(() -> ServerAddress.parse(":9000")).hasMessageContaining("bad host");
    assertThatThrownBy(() -> ServerAddress.parse("[::1")).hasMessageContaining("missing ']'");
  }

  @Test
  void explicitThenEnvironmentThenDomainDefault() {
    Address alice = Address.parse("alice@example.com");
    ServerLocator none = new ServerLocator(Map.of());
    assertThat(none.locate(alice, Optional.of("10.0.0.1:1234"))).containsExactly(new ServerAddress("10.0.0.1", 1234));
    assertThat(none.locate(alice, Optional.empty())).containsExactly(new ServerAddress("example.com", 8788));
    assertThat(none.locate(Address.parse("bob@[::1]"), Optional.empty())).containsExactly(new ServerAddress("::1", 8788));

    ServerLocator env = new ServerLocator(Map.of("Q2Q_SERVERS", "other.test=1.2.3.4:1, EXAMPLE.com=5.6.7.8:9"));
    assertThat(env.locate(alice, Optional.empty())).containsExactly(new ServerAddress("5.6.7.8", 9));
    assertThat(env.locate(alice, Optional.of("h:2"))).containsExactly(new ServerAddress("h", 2));
    assertThat(env.locate(Address.parse("x@third.test"), Optional.empty()))
        .containsExactly(new ServerAddress("third.test", 8788));

    assertThatThrownBy(() -> new ServerLocator(Map.of("Q2Q_SERVERS", "example.com")).locate(alice, Optional.empty()))
        .hasMessageContaining("is not domain=host:port");
  }

  @Test
  void aDomainsSeveralNodesComeInTheOrderGiven() {
    Address alice = Address.parse("alice@example.com");
    ServerLocator env = new ServerLocator(Map.of("Q2Q_SERVERS",
        "example.com=10.0.0.5:8788,other.test=h:1,example.com=10.0.0.6:8788"));
    assertThat(env.locate(alice, Optional.empty()))
        .containsExactly(new ServerAddress("10.0.0.5", 8788), new ServerAddress("10.0.0.6", 8788));
    // --server given several times (joined with commas) or remembered so: those, in order
    assertThat(env.locate(alice, Optional.of("[::1]:9,node2.example.com")))
        .containsExactly(new ServerAddress("::1", 9), new ServerAddress("node2.example.com", 8788));
    assertThatThrownBy(() -> env.locate(alice, Optional.of("h:1,h:x"))).hasMessageContaining("not a number");
    assertThatThrownBy(() -> env.locate(alice, Optional.of(" , "))).hasMessageContaining("no host:port");
  }
}
