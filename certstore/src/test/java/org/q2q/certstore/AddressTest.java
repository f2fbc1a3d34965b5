package org.q2q.certstore;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

/** Address parsing: valid forms are normalised, invalid ones are refused naming the problem. */
class AddressTest {
  @ParameterizedTest(name = "{0} -> {1}")
  @CsvSource(delimiter = '|', value = {
    "alice@example.com      | alice@example.com",
    "alice@EXAMPLE.Com      | alice@example.com",
    "Alice@example.com      | Alice@example.com",
    "a.b_c-d+e@sub.example.com | a.b_c-d+e@sub.example.com",
    "example.com            | example.com",
    "example.com.           | example.com",
    "localhost              | localhost",
    "alice@localhost        | alice@localhost",
    "bob@127.0.0.1          | bob@127.0.0.1",
    "bob@[::1]              | bob@[::1]",
    "bob@[2001:DB8::1]      | bob@[2001:db8::1]",
    "alice@bücher.example   | alice@xn--bcher-kva.example",
    "münchen.example        | xn--mnchen-3ya.example",
  })
  void validAddressesAreNormalised(String in, String normalised) {
    assertThat(Address.parse(in).toString()).isEqualTo(normalised);
  }

  @ParameterizedTest(name = "[{0}] -> {1}")
  @CsvSource(delimiter = '|', value = {
    "''                         | the address is empty",
    "@example.com               | the part before '@' (the resource) is empty",
    "alice@                     | the part after '@' (the domain) is empty",
    "@                          | the part before '@' (the resource) is empty",
    "alice@bob@example.com      | contains more than one '@'",
    "'alice @example.com'       | contains whitespace at position 5",
    "'alice@example.com '       | contains whitespace at position 17",
    "alice@exa..mple.com        | empty label",
    "alice@.example.com         | empty label",
    "alice@exa mple.com         | whitespace",
    "alice@bü!cher.example      | is not a valid internationalised name",
    "alice@example-.com         | may contain only letters, digits and inner '-'",
    "alice@-example.com         | may contain only letters, digits and inner '-'",
    "alice@exa_mple.com         | may contain only letters, digits and inner '-'",
    "al!ce@example.com          | the resource may contain only letters, digits and . _ - +",
    "alice@example.com:8788     | ports are not part of an address",
    "alice@::1                  | write IPv6 literals in brackets",
    "alice@[::g]                | is not an IPv6 literal",
    "alice@[]                   | is not an IPv6 literal",
    "alice@999.1.1.1            | is not an IPv4 address",
    "jürgen@example.com         | the resource may contain only letters, digits and . _ - +",
  })
  void invalidAddressesSayWhy(String in, String reason) {
    assertThatThrownBy(() -> Address.parse(in))
        .isInstanceOfSatisfying(AddressFormatException.class, e -> assertThat(e.reason()).contains(reason));
  }

  @Test
  void controlAndInvisibleCharactersAreRefusedAndShownEscaped() {
    assertThatThrownBy(() -> Address.parse("alice\u0000@example.com"))
        .isInstanceOf(AddressFormatException.class)
        .hasMessage("invalid address 'alice\\u0000@example.com': contains a control character at position 5");
    assertThatThrownBy(() -> Address.parse("alice@exa\nmple.com")).hasMessageContaining("control character at position 9");
    assertThatThrownBy(() -> Address.parse("alice@ex\u200Bample.com")).hasMessageContaining("invisible formatting character (U+200B)");
    assertThatThrownBy(() -> Address.parse("alice@example.com\u202E")).hasMessageContaining("U+202E");
    assertThatThrownBy(() -> Address.parse("alice\u00A0@example.com")).hasMessageContaining("whitespace");
  }

  @Test
  void overLongInputIsRefused() {
    assertThatThrownBy(() -> Address.parse("a".repeat(65) + "@example.com"))
        .hasMessageContaining("the resource is longer than 64 characters");
    assertThatThrownBy(() -> Address.parse("a@" + "b".repeat(400)))
        .hasMessageContaining("longer than 320 characters");
    assertThatThrownBy(() -> Address.parse("a@" + "b".repeat(64) + ".com"))
        .isInstanceOf(AddressFormatException.class);
    assertThatThrownBy(() -> Address.parse("a@" + ("b".repeat(60) + ".").repeat(5) + "com"))
        .hasMessageContaining("1 to 253 characters");
  }

  @Test
  void partsEqualityAndUri() {
    Address a = Address.parse("alice@Example.com");
    assertThat(a.resource()).isEqualTo("alice");
    assertThat(a.domain()).isEqualTo("example.com");
    assertThat(a.isDomain()).isFalse();
    assertThat(a.domainAddress()).isEqualTo(Address.ofDomain("example.com"));
    assertThat(a.toUri()).isEqualTo("q2q:alice@example.com");
    assertThat(a).isEqualTo(Address.of("alice", "EXAMPLE.COM")).hasSameHashCodeAs(Address.of("alice", "example.com"));
    assertThat(Address.parse("Alice@example.com")).isNotEqualTo(a);
    assertThat(Address.ofDomain("example.com").compareTo(a)).isNegative();
    assertThatThrownBy(() -> Address.ofDomain("alice@example.com")).hasMessageContaining("may not contain '@'");
  }
}
