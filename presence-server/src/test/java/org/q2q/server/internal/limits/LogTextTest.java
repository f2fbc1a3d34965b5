package org.q2q.server.internal.limits;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** L6: remote text cannot forge log lines, hide itself or fill the disk. */
class LogTextTest {
  @Test
  void controlAndFormatCharactersAreReplacedAndLongTextIsCut() {
    assertThat(LogText.safe("busy\n12:00:00 INFO forged line\u001b[2J")).isEqualTo("busy?12:00:00 INFO forged line?[2J");
    assertThat(LogText.safe("invoice\u202Efdp.exe")).isEqualTo("invoice?fdp.exe");
    assertThat(LogText.safe("x".repeat(1_000_000))).hasSize(LogText.MAX + 3).endsWith("...");
    assertThat(LogText.safe(null)).isEqualTo("null");
  }
}
