package org.q2q.certstore;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.q2q.certstore.ServerDirectory.Endpoint;

/** Where a domain's servers are: Q2Q_SERVERS with a domain named several times, lists, errors. */
class ServerDirectoryTest {
  private static final Address EXAMPLE = Address.ofDomain("example.com");

  @Test
  void aDomainNamedSeveralTimesHasAllItsServersInOrder() {
    String value = "example.com=10.0.0.5:8788, other.test=h:1 ,EXAMPLE.COM=10.0.0.6:8788,example.com=[::1],"
        + "example.com=10.0.0.5:8788";
    assertThat(ServerDirectory.locate(EXAMPLE, value)).containsExactly(
        new Endpoint("10.0.0.5", 8788), new Endpoint("10.0.0.6", 8788), new Endpoint("::1", 8788));
    assertThat(ServerDirectory.parseServers(value).keySet()).containsExactly("example.com", "other.test");
    assertThat(ServerDirectory.locate(Address.ofDomain("other.test"), value)).containsExactly(new Endpoint("h", 1));
  }

  @Test
  void aDomainWithoutEntryHasItsOwnNameAtTheDefaultPort() {
    assertThat(ServerDirectory.locate(EXAMPLE, null)).containsExactly(new Endpoint("example.com", 8788));
    assertThat(ServerDirectory.locate(EXAMPLE, " ")).containsExactly(new Endpoint("example.com", 8788));
    assertThat(ServerDirectory.locate(Address.ofDomain("[::1]"), "a.test=h:1"))
        .containsExactly(new Endpoint("::1", 8788));
  }

  @Test
  void aMalformedEntryIsAnErrorNamingItWhicheverDomainIsAsked() {
    assertThatThrownBy(() -> ServerDirectory.locate(EXAMPLE, "example.com=h:1,example.com=h:x"))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'example.com=h:x'")
        .hasMessageContaining("not a number");
    assertThatThrownBy(() -> ServerDirectory.locate(EXAMPLE, "example.com=h:1,other.test"))
        .hasMessageContaining("'other.test' is not domain=host:port");
    assertThatThrownBy(() -> ServerDirectory.locate(EXAMPLE, "example.com=::1:9"))
        .hasMessageContaining("brackets");
  }

  @Test
  void listsOfServersAreCommaSeparated() {
    assertThat(Endpoint.parseList("10.0.0.5:8788,[::1]:9, node.example.com ,"))
        .containsExactly(new Endpoint("10.0.0.5", 8788), new Endpoint("::1", 9), new Endpoint("node.example.com", 8788));
    assertThat(Endpoint.parseList("h")).isEqualTo(List.of(new Endpoint("h", 8788)));
    assertThatThrownBy(() -> Endpoint.parseList(",")).hasMessageContaining("no host:port");
    assertThatThrownBy(() -> Endpoint.parseList("h:1,h:70000")).hasMessageContaining("not in 1..65535");
  }
}
