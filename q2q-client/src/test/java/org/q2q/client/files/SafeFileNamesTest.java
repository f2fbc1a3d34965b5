package org.q2q.client.files;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class SafeFileNamesTest {
  @ParameterizedTest
  @ValueSource(strings = {"", ".", "..", "../x", "a/../b", "/etc/passwd", "a//b", "a/", "..\\x", "C:x", "a\u0000b",
      "a\nb", "a\u009bb", "a\u007fb", "CON", "nul.txt", "dir/com1.log", "trailing.", "trailing ", ".bashrc",
      "dir/.envrc", "-rf", "bidi\u202Eevil", "iso\u2066late", "zw\u200Bsp", "zwj\u200Dx", "bom\uFEFF", "line\u2028sep",
      "non\uFFFEchar", "lone\uD800", "cafe\u0301", SafeFileNames.STATE_FOLDER + "/k.part"})
  void unsafePathsAreRefusedWithAReason(String path) {
    assertThat(SafeFileNames.checkPath(path, false)).isNotNull();
  }

  @ParameterizedTest
  @ValueSource(strings = {"report.pdf", "naïve café.txt", "a..b", "console.txt", "x (1).txt", "photos/2024/a.jpg",
      "日本語/ファイル.txt", "emoji \uD83D\uDE00.png", "a-b"})
  void plainPathsAreAccepted(String path) {
    assertThat(SafeFileNames.checkPath(path, false)).isNull();
  }

  @Test
  void hiddenNamesNeedPermissionButTheStateFolderNever() {
    assertThat(SafeFileNames.checkPath(".bashrc", false)).contains("--allow-hidden");
    assertThat(SafeFileNames.checkPath("dir/.gitignore", true)).isNull();
    assertThat(SafeFileNames.checkPath(SafeFileNames.STATE_FOLDER + "/x", true)).contains("state folder");
  }

  @Test
  void lengthAndDepthAreBounded() {
    assertThat(SafeFileNames.checkPath("é".repeat(128), false)).contains("longer than 255 bytes");
    assertThat(SafeFileNames.checkPath("a/".repeat(FileTransfer.MAX_DEPTH) + "a", false)).contains("deeper than 64");
    assertThat(SafeFileNames.checkPath("a/".repeat(FileTransfer.MAX_DEPTH - 1) + "a", false)).isNull();
    assertThat(SafeFileNames.checkPath(("d".repeat(200) + "/").repeat(21), false)).contains("longer than 4096 bytes");
  }

  @Test
  void reasonsShowControlCharactersEscaped() {
    assertThat(SafeFileNames.checkPath("a\u001b[2Jb", false)).contains("a\\u001B[2Jb");
    assertThat(RemoteText.printable("ok \u202Eevil\u0007")).isEqualTo("ok \\u202Eevil\\u0007");
    assertThat(RemoteText.printable("fine \uD83D\uDE00")).isEqualTo("fine \uD83D\uDE00");
    assertThat(RemoteText.printable("lone \uD800")).isEqualTo("lone \\uD800");
  }

  @Test
  void existingFilesAreNeverOverwritten(@TempDir Path dir) throws IOException {
    Files.writeString(dir.resolve("a.txt"), "old");
    Path first = SafeFileNames.placeWithoutReplacing(Files.writeString(dir.resolve("t1"), "1"), dir, "a.txt");
    Path second = SafeFileNames.placeWithoutReplacing(Files.writeString(dir.resolve("t2"), "2"), dir, "a.txt");
    Path noExt = SafeFileNames.placeWithoutReplacing(Files.writeString(dir.resolve("t3"), "3"), dir, "README");
    Path noExt2 = SafeFileNames.placeWithoutReplacing(Files.writeString(dir.resolve("t4"), "4"), dir, "README");

    assertThat(first.getFileName()).hasToString("a (1).txt");
    assertThat(second.getFileName()).hasToString("a (2).txt");
    assertThat(noExt.getFileName()).hasToString("README");
    assertThat(noExt2.getFileName()).hasToString("README (1)");
    assertThat(Files.readString(dir.resolve("a.txt"))).isEqualTo("old");
    assertThat(Files.readString(second)).isEqualTo("2");
  }

  @Test
  void aRenamedLongNameStillFits(@TempDir Path dir) throws IOException {
    String name = "é".repeat(125) + ".txt"; // 254 bytes
    Files.writeString(dir.resolve(name), "old");
    Path placed = SafeFileNames.placeWithoutReplacing(Files.writeString(dir.resolve("t"), "new"), dir, name);
    assertThat(placed.getFileName().toString()).endsWith(" (1).txt");
    assertThat(placed.getFileName().toString().getBytes(java.nio.charset.StandardCharsets.UTF_8).length).isLessThanOrEqualTo(255);
  }
}
