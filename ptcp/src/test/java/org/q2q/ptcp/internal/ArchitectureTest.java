package org.q2q.ptcp.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The core ({@code org.q2q.ptcp} and {@code org.q2q.ptcp.internal}) is sans-IO: no Netty, no threads,
 * no system clock, no unseeded randomness, no sockets. Scans the sources.
 */
@Timeout(value = 10, unit = TimeUnit.SECONDS)
class ArchitectureTest {
  static final String[] FORBIDDEN = {
    "io.netty", "System.nanoTime", "System.currentTimeMillis", "Instant.now", "new Thread",
    "Thread.sleep", "ExecutorService", "new Random()", "SecureRandom", "Math.random",
    "ThreadLocalRandom", "java.net.DatagramSocket", "java.nio.channels", "synchronized",
    "java.util.concurrent"
  };

  @Test
  void coreIsSansIo() throws IOException {
    Path root = Path.of("src/main/java/org/q2q/ptcp");
    List<String> violations = new ArrayList<>();
    List<Path> files = new ArrayList<>();
    try (Stream<Path> s = Files.list(root)) {
      s.filter(p -> p.toString().endsWith(".java")).forEach(files::add);
    }
    try (Stream<Path> s = Files.list(root.resolve("internal"))) {
      s.filter(p -> p.toString().endsWith(".java")).forEach(files::add);
    }
    assertThat(files).hasSizeGreaterThan(15);
    for (Path f : files) {
      String text = Files.readString(f);
      for (String bad : FORBIDDEN) {
        if (text.contains(bad)) {
          violations.add(f.getFileName() + ": " + bad);
        }
      }
    }
    assertThat(violations).isEmpty();
  }
}
