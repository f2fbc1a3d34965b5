package org.q2q.client.files;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Part files written past the page cache and through it, on real file systems. */
@Timeout(30)
class FileAppenderTest {
  static final int CHUNK = FileTransfer.CHUNK_BYTES;

  @TempDir Path tmp;

  /** Appends {@code len} bytes of {@code b} and records them as expected. */
  private static void append(FileAppender a, ByteArrayOutputStream expected, byte[] b, int len) throws IOException {
    a.append(b, 0, len);
    expected.write(b, 0, len);
  }

  /** Writes two chunks and an unaligned tail into {@code file}; returns the expected contents. */
  private static byte[] writeFile(Path file, ByteBuffer aligned, boolean expectDirect) throws IOException {
    long size = 2L * CHUNK + 1234;
    ByteArrayOutputStream expected = new ByteArrayOutputStream();
    try (FileAppender a = FileAppender.open(file, 0, size, aligned)) {
      assertThat(a.direct()).as("direct writes on %s", file).isEqualTo(expectDirect);
      append(a, expected, FileTransferTest.random(CHUNK, 1), CHUNK);
      append(a, expected, FileTransferTest.random(CHUNK, 2), CHUNK);
      append(a, expected, FileTransferTest.random(CHUNK, 3), 1234);
      a.force();
    }
    return expected.toByteArray();
  }

  private static boolean directWorksIn(Path dir) throws IOException {
    Path probe = dir.resolve("probe");
    try (FileAppender a = FileAppender.open(probe, 0, CHUNK, FileAppender.alignedBuffer(CHUNK))) {
      return a.direct();
    } finally {
      Files.deleteIfExists(probe);
    }
  }

  @Test
  void chunksAndAnUnalignedLastPieceArriveExactlyPastThePageCache() throws Exception {
    assumeTrue(directWorksIn(tmp), "the file system of " + tmp + " refuses O_DIRECT");
    Path f = tmp.resolve("big.part");
    byte[] expected = writeFile(f, FileAppender.alignedBuffer(CHUNK), true);
    assertThat(Files.size(f)).as("no padding left behind").isEqualTo(expected.length);
    assertThat(Files.readAllBytes(f)).isEqualTo(expected);
  }

  @Test
  void resumingKeepsTheVerifiedPrefixAndDropsWhatFollowsIt() throws Exception {
    Path f = tmp.resolve("resumed.part");
    byte[] first = FileTransferTest.random(CHUNK, 7);
    Files.write(f, first);
    Files.write(f, FileTransferTest.random(CHUNK + 99, 8), java.nio.file.StandardOpenOption.APPEND); // unverified rest
    byte[] second = FileTransferTest.random(CHUNK, 9);
    try (FileAppender a = FileAppender.open(f, CHUNK, 2L * CHUNK + 10, FileAppender.alignedBuffer(CHUNK))) {
      a.append(second, 0, CHUNK);
      a.append(second, 0, 10);
      a.force();
    }
    ByteArrayOutputStream expected = new ByteArrayOutputStream();
    expected.write(first);
    expected.write(second);
    expected.write(second, 0, 10);
    assertThat(Files.readAllBytes(f)).isEqualTo(expected.toByteArray());
  }

  @Test
  void smallFilesAndCallersWithoutABufferWriteThroughThePageCache() throws Exception {
    try (FileAppender a = FileAppender.open(tmp.resolve("small"), 0, 5000, FileAppender.alignedBuffer(CHUNK))) {
      assertThat(a.direct()).isFalse();
      a.append(FileTransferTest.random(5000, 1), 0, 5000);
    }
    assertThat(Files.size(tmp.resolve("small"))).isEqualTo(5000);
    Path f = tmp.resolve("large");
    byte[] expected = writeFile(f, null, false);
    assertThat(Files.readAllBytes(f)).isEqualTo(expected);
  }

  @Test
  void aDirectWriteTheKernelRefusesGoesOnThroughThePageCache() throws Exception {
    assumeTrue(directWorksIn(tmp), "the file system of " + tmp + " refuses O_DIRECT");
    // memory one byte off the alignment: the open succeeds, the kernel refuses the write (EINVAL)
    ByteBuffer misaligned = FileAppender.alignedBuffer(CHUNK + FileAppender.ALIGN).position(1).slice();
    Path f = tmp.resolve("refused.part");
    ByteArrayOutputStream expected = new ByteArrayOutputStream();
    try (FileAppender a = FileAppender.open(f, 0, 2L * CHUNK, misaligned)) {
      assertThat(a.direct()).isTrue();
      append(a, expected, FileTransferTest.random(CHUNK, 4), CHUNK);
      assertThat(a.direct()).as("fell back after the refusal").isFalse();
      append(a, expected, FileTransferTest.random(CHUNK, 5), CHUNK);
    }
    assertThat(Files.readAllBytes(f)).isEqualTo(expected.toByteArray());
  }

  @Test
  void anInterruptedWriteEndsTheFileInsteadOfFallingBack() throws Exception {
    assumeTrue(directWorksIn(tmp), "the file system of " + tmp + " refuses O_DIRECT");
    Path f = tmp.resolve("interrupted.part");
    try (FileAppender a = FileAppender.open(f, 0, 2L * CHUNK, FileAppender.alignedBuffer(CHUNK))) {
      Thread.currentThread().interrupt();
      org.assertj.core.api.Assertions.assertThatThrownBy(() -> a.append(FileTransferTest.random(CHUNK, 6), 0, CHUNK))
          .isInstanceOf(java.nio.channels.ClosedByInterruptException.class);
      assertThat(a.direct()).as("no fallback attempted").isTrue();
    } finally {
      Thread.interrupted(); // clear it for the next test
    }
  }
}
