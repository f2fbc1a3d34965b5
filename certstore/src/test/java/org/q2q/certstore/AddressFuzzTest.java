package org.q2q.certstore;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.nio.charset.StandardCharsets;

/**
 * Coverage-guided fuzz tests of address parsing (Jazzer). The normal test run replays the
 * checked-in inputs under {@code src/test/resources/org/q2q/certstore/AddressFuzzTestInputs/}
 * (regression mode); {@code JAZZER_FUZZ=1} fuzzes one method (see bench/fuzz/README.md).
 *
 * <p>Property: any text is either refused with an {@link IllegalArgumentException} or parsed into
 * a value whose printed form parses back to the same value; nothing else is thrown.
 */
class AddressFuzzTest {
  @FuzzTest(maxDuration = "10s")
  void addressParsing(byte[] input) {
    String text = new String(input, StandardCharsets.UTF_8);
    Address a;
    try {
      a = Address.parse(text);
    } catch (IllegalArgumentException refused) {
      return;
    }
    assertThat(Address.parse(a.toString())).isEqualTo(a);
    assertThat(a.toString().length()).isLessThanOrEqualTo(Address.MAX_LENGTH);
    assertThat(Address.parse(a.toUri().substring("q2q:".length()))).isEqualTo(a);
  }

  @FuzzTest(maxDuration = "10s")
  void serviceAddressParsing(byte[] input) {
    String text = new String(input, StandardCharsets.UTF_8);
    ServiceAddress s;
    try {
      s = ServiceAddress.parse(text);
    } catch (IllegalArgumentException refused) {
      return;
    }
    assertThat(ServiceAddress.parse(s.toString())).isEqualTo(s);
    assertThat(ServiceName.isValid(s.service())).isTrue();
  }
}
