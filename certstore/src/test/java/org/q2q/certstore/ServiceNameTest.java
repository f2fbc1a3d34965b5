package org.q2q.certstore;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ServiceNameTest {
  @ParameterizedTest
  @ValueSource(strings = {"web", "file", "ssh-2", "a_b.c", "X", "a.", "0123456789012345678901234567890123456789012345678901234567890123"})
  void validNames(String name) {
    assertThat(ServiceName.check(name)).isEqualTo(name);
    assertThat(ServiceName.isValid(name)).isTrue();
  }

  @ParameterizedTest
  @ValueSource(strings = {"", ".internal", "bad\u0001name", "has space", "a/b", "caf\u00e9", "tab\there",
      "x123456789012345678901234567890123456789012345678901234567890abcdef"})
  void invalidNamesSayWhy(String name) {
    assertThatThrownBy(() -> ServiceName.check(name))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("service name")
        .hasMessageNotContaining("\u0001");
    assertThat(ServiceName.isValid(name)).isFalse();
  }

  @Test
  void serviceAddressParsesAddressSlashService() {
    ServiceAddress s = ServiceAddress.parse("bob@Example.COM/web");
    assertThat(s.address()).isEqualTo(Address.parse("bob@example.com"));
    assertThat(s.service()).isEqualTo("web");
    assertThat(s).hasToString("bob@example.com/web");
    assertThat(ServiceAddress.parse("bob@[::1]/ssh").address().domain()).isEqualTo("[::1]");
  }

  @ParameterizedTest
  @ValueSource(strings = {"bob@example.com", "bob@example.com/", "/web", "example.com/web", "bob@example.com/a b",
      "bob@@example.com/web", "bob@example.com/.x"})
  void badServiceAddressesAreRefused(String text) {
    assertThatThrownBy(() -> ServiceAddress.parse(text)).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void messagesNameTheProblem() {
    assertThatThrownBy(() -> ServiceAddress.parse("bob@example.com"))
        .hasMessageContaining("names no service").hasMessageContaining("ADDRESS/SERVICE");
    assertThatThrownBy(() -> ServiceAddress.parse("example.com/web")).hasMessageContaining("is a domain");
  }
}
