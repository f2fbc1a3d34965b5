package org.q2q.tools;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import picocli.CommandLine;

/** The launcher's start-up archive is made from {@code q2q warmup}: it must really send. */
@Timeout(120)
class WarmupCommandTest {
  @Test
  void warmupSendsOneFileOnLoopbackAndExitsZeroWithoutBeingListed() {
    CommandLine cl = Main.commandLine(new CliEnvironment(Map.of(), new ByteArrayInputStream(new byte[0]), null));
    StringWriter out = new StringWriter();
    cl.setOut(new PrintWriter(out, true));
    cl.setErr(new PrintWriter(new StringWriter(), true));

    assertThat(cl.execute("warmup")).as(out.toString()).isZero();
    assertThat(out.toString()).contains("send exited 0, receive exited 0");

    StringWriter help = new StringWriter();
    cl.setOut(new PrintWriter(help, true));
    cl.execute("--help");
    assertThat(help.toString()).doesNotContain("warmup");
  }
}
