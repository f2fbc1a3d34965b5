package org.q2q.client.files;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class SafeFileNamesTest {
  @ParameterizedTest
  @ValueSource(strings = {"", ".", "..", "../x", "a/b", "/etc/passwd", "..\\x", "C:x", "a\u0000b", "a\nb",
      "CON", "nul.txt", "com1.log", "trailing.", "trailing "})
  void unsafeNamesAreRefusedWithAReason(String name) {
    assertThat(SafeFileNames.check(name)).isNotNull();
  }

  @ParameterizedTest
  @ValueSource(strings = {"report.pdf", ".hidden", "naïve café.txt", "a..b", "console.txt", "x (1).txt"})
  void plainNamesAreAccepted(String name) {
    assertThat(SafeFileNames.check(name)).isNull();
  }

  @Test
  void anOverlongNameIsRefused() {
    assertThat(SafeFileNames.check("é".repeat(200))).contains("longer than 255 bytes");
  }

  @Test
  void existingFilesAreNeverOverwritten(@TempDir Path dir) throws IOException {
    Files.writeString(dir.resolve("a.txt"), "old");
    Path first = SafeFileNames.reserve(dir, "a.txt");
    Path second = SafeFileNames.reserve(dir, "a.txt");
    Path noExt = SafeFileNames.reserve(dir, "README");
    Path noExt2 = SafeFileNames.reserve(dir, "README");

    assertThat(first.getFileName()).hasToString("a (1).txt");
    assertThat(second.getFileName()).hasToString("a (2).txt");
    assertThat(noExt.getFileName()).hasToString("README");
    assertThat(noExt2.getFileName()).hasToString("README (1)");
    assertThat(Files.readString(dir.resolve("a.txt"))).isEqualTo("old");
  }

  @Test
  void reservingAnUnsafeNameFails(@TempDir Path dir) {
    assertThatThrownBy(() -> SafeFileNames.reserve(dir, "../evil")).hasMessageContaining("path separator");
  }
}
