package org.q2q.client.forward;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.q2q.certstore.Address;
import org.q2q.client.AcceptPolicy;

/** HostPort, PortRange and AllowList: what the commands' arguments become. */
class ForwardArgumentsTest {
  @Test
  void hostPortForms() {
    assertThat(HostPort.parse("127.0.0.1:8080")).isEqualTo(new HostPort("127.0.0.1", 8080));
    assertThat(HostPort.parse("[::1]:22")).isEqualTo(new HostPort("::1", 22));
    assertThat(HostPort.parse("[::1]:22")).hasToString("[::1]:22");
    assertThat(HostPort.parse("db.internal:5432").host()).isEqualTo("db.internal");
    assertThat(HostPort.parseBind("9000", "127.0.0.1")).isEqualTo(new HostPort("127.0.0.1", 9000));
    assertThat(HostPort.parseBind("0.0.0.0:9000", "127.0.0.1")).isEqualTo(new HostPort("0.0.0.0", 9000));
    assertThat(HostPort.parseBind("[::]:0", "127.0.0.1")).isEqualTo(new HostPort("::", 0));
  }

  @ParameterizedTest
  @ValueSource(strings = {"8080", ":8080", "host:", "host:x", "host:65536", "::1:22", "host:0", "a b:1"})
  void badHostPortsSayWhy(String text) {
    assertThatThrownBy(() -> HostPort.parse(text)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(text.isEmpty() ? "" : "'");
  }

  @Test
  void portRanges() {
    assertThat(PortRange.parse("20000-20100")).isEqualTo(new PortRange(20000, 20100));
    assertThat(PortRange.parse("8080-8080").contains(8080)).isTrue();
    assertThat(PortRange.parse("8080").contains(8081)).isFalse();
    assertThat(PortRange.parse("20000-20100")).hasToString("20000-20100");
    for (String bad : List.of("", "a-b", "0-10", "10-5", "1-65536", "1-2-3")) {
      assertThatThrownBy(() -> PortRange.parse(bad)).as(bad).isInstanceOf(IllegalArgumentException.class);
    }
  }

  @Test
  void theDefaultAllowListIsTheOwnersDomain() {
    AllowList a = AllowList.parse(List.of(), Address.parse("bob@example.com"));
    assertThat(a.isDefault()).isTrue();
    assertThat(a).hasToString("@example.com");
    assertThat(a.allows(Address.parse("alice@example.com"))).isTrue();
    assertThat(a.allows(Address.parse("mallory@example.org"))).isFalse();
    AcceptPolicy.Decision d = a.decide(Address.parse("mallory@example.org"), "web");
    assertThat(d.accepted()).isFalse();
    assertThat(d.reason()).isEqualTo(
        "mallory@example.org is not allowed to use bob@example.com/web (allowed: @example.com)");
  }

  @Test
  void addressesAndDomainsReplaceTheDefault() {
    AllowList a = AllowList.parse(List.of("carol@Other.test", "@partner.org"), Address.parse("bob@example.com"));
    assertThat(a.isDefault()).isFalse();
    assertThat(a.allows(Address.parse("carol@other.test"))).isTrue();
    assertThat(a.allows(Address.parse("dave@other.test"))).isFalse();
    assertThat(a.allows(Address.parse("anyone@partner.org"))).isTrue();
    assertThat(a.allows(Address.parse("alice@example.com"))).isFalse();
    assertThat(a).hasToString("@partner.org, carol@other.test");
    assertThatThrownBy(() -> AllowList.parse(List.of("example.com"), Address.parse("bob@example.com")))
        .hasMessageContaining("write @example.com");
    assertThatThrownBy(() -> AllowList.parse(List.of("@"), Address.parse("bob@example.com")))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
