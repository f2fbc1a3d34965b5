package org.q2q.client.internal.punch;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The punch state machine and its wire format stay sans-IO: no Netty, sockets, threads or clocks. */
class SansIoTest {
  @Test
  void theCoreClassesImportNoIoThreadsOrClocks() throws Exception {
    Path dir = Path.of("src/main/java/org/q2q/client/internal/punch");
    for (String name : new String[] {"HolePunch.java", "PunchProbe.java", "PunchKey.java"}) {
      String src = Files.readString(dir.resolve(name));
      assertThat(src).as(name)
          .doesNotContain("import io.netty")
          .doesNotContain("java.net.DatagramSocket")
          .doesNotContain("System.nanoTime")
          .doesNotContain("System.currentTimeMillis")
          .doesNotContain("new Thread")
          .doesNotContain("ThreadLocalRandom");
    }
  }
}
