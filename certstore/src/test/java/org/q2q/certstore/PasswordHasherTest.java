package org.q2q.certstore;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** Argon2id in PHC form, salted, with bounded parameters from stored hashes. */
class PasswordHasherTest {
  @Test
  void hashesVerifyOnlyTheirPassword() {
    String h = PasswordHasher.DEFAULT.hash("correct horse");
    assertThat(h).startsWith("$argon2id$v=19$m=19456,t=2,p=1$");
    assertThat(PasswordHasher.DEFAULT.verify("correct horse", h)).isTrue();
    assertThat(PasswordHasher.DEFAULT.verify("correct horsE", h)).isFalse();
    assertThat(PasswordHasher.DEFAULT.verify("", h)).isFalse();
  }

  @Test
  void theSaltMakesEveryHashDifferent() {
    PasswordHasher fast = new PasswordHasher(64, 1, 1);
    assertThat(fast.hash("pw")).isNotEqualTo(fast.hash("pw"));
  }

  @Test
  void hashesKeepTheirParametersSoTheyCanBeRaisedLater() {
    String old = new PasswordHasher(64, 1, 1).hash("pw");
    assertThat(PasswordHasher.DEFAULT.verify("pw", old)).isTrue();
  }

  @Test
  void malformedHashesNeverVerify() {
    PasswordHasher h = new PasswordHasher(64, 1, 1);
    String good = h.hash("pw");
    for (String bad : new String[] {
        "", "pw", "$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
        good.replace("v=19", "v=16"), good.replace("m=64", "m=abc"), good.replace("m=64", "m=99999999"),
        good.replace("t=1", "t=0"), good.replace("p=1", "x=1"), good.substring(0, good.lastIndexOf('$')),
        good + "$extra", good.replace("$argon2id", "$argon2id$"), good.substring(0, good.length() - 10) + "!!!!"}) {
      assertThat(h.verify("pw", bad)).as(bad).isFalse();
    }
    assertThat(h.verify("pw", null)).isFalse();
  }
}
