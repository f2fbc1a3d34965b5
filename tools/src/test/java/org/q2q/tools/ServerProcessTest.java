package org.q2q.tools;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code q2q server} as a real process: it starts, serves, and stops gracefully on SIGTERM. */
@Timeout(120)
class ServerProcessTest {
  @TempDir Path dir;

  /** A started {@code q2q server} process and the lines it printed up to "Stop with". */
  private record Started(Process process, List<String> lines) {}

  /** Starts {@code q2q server} on a free port of 127.0.0.1 with {@code extra} options, production logging. */
  private Started startServer(String... extra) throws IOException {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    List<String> cmd = new ArrayList<>(List.of(java,
        // the production logging (WARN to stderr): a configuration file that does not exist, not the tests' logback-test.xml
        "-Dlogback.configurationFile=logback.xml",
        "-cp", System.getProperty("java.class.path"), Main.class.getName(),
        "server", "--port", "0", "--bind", "127.0.0.1", "--data", dir.resolve("data").toString()));
    cmd.addAll(List.of(extra));
    Process p = new ProcessBuilder(cmd).redirectError(dir.resolve("stderr.txt").toFile()).start();
    BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
    List<String> lines = new ArrayList<>();
    String line;
    while ((line = out.readLine()) != null) { // the test's @Timeout bounds this
      lines.add(line);
      if (line.startsWith("Stop with")) {
        break;
      }
    }
    assertThat(lines).as("server output; stderr: %s", Files.readString(dir.resolve("stderr.txt"))).isNotEmpty();
    return new Started(p, lines);
  }

  /** Registers alice@localhost at the server on {@code port} with the CLI, in this JVM. */
  private void registerAlice(String port) {
    StringWriter err = new StringWriter();
    CommandLine cl = Main.commandLine(new CliEnvironment(Map.of("Q2Q_HOME", dir.resolve("home").toString()),
        new ByteArrayInputStream("secret\n".getBytes(StandardCharsets.UTF_8)), null));
    cl.setOut(new PrintWriter(new StringWriter()));
    cl.setErr(new PrintWriter(err, true));
    assertThat(cl.execute("register", "alice@localhost", "--server", "127.0.0.1:" + port, "--password-stdin", "--yes"))
        .as(err.toString()).isZero();
  }

  @Test
  void theServerServesAndStopsGracefullyOnSigterm() throws Exception {
    Started started = startServer();
    Process p = started.process();
    try {
      List<String> lines = started.lines();
      assertThat(lines.get(0)).startsWith("q2q presence server for localhost listening on 127.0.0.1, port ");
      Matcher m = Pattern.compile("port (\\d+)").matcher(lines.get(0));
      assertThat(m.find()).isTrue();
      int port = Integer.parseInt(m.group(1));
      assertThat(lines.get(1)).startsWith("  CA fingerprint SHA256:");
      assertThat(lines).contains("  registration OPEN to anyone on this machine: the first register of an address"
          + " @localhost creates it");
      assertThat(lines).noneMatch(l -> l.contains("metrics")); // off unless asked for
      assertThat(ServerCommand.registrationNotice(org.q2q.server.RegistrationMode.OPEN, "example.com", false))
          .startsWith("WARNING: registration is OPEN: anyone who can reach this port can create accounts @example.com");

      registerAlice(Integer.toString(port));

      p.destroy(); // SIGTERM
      assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
      assertThat(Files.readString(dir.resolve("stderr.txt"))).contains("q2q: server stopped");
    } finally {
      p.destroyForcibly();
    }
  }

  @Test
  void withMetricsTheServerServesPrometheusTextThatCountsARegistration() throws Exception {
    Started started = startServer("--metrics", "127.0.0.1:0");
    Process p = started.process();
    try {
      List<String> lines = started.lines();
      Matcher grpc = Pattern.compile("port (\\d+)").matcher(lines.get(0));
      assertThat(grpc.find()).isTrue();
      String metricsLine = lines.stream().filter(l -> l.startsWith("  metrics on ")).findFirst().orElseThrow();
      Matcher m = Pattern.compile("^  metrics on (http://127\\.0\\.0\\.1:\\d+/metrics)$").matcher(metricsLine);
      assertThat(m.matches()).as(metricsLine).isTrue();
      URI metrics = URI.create(m.group(1));

      registerAlice(grpc.group(1));

      HttpResponse<String> r = HttpClient.newHttpClient().send(
          HttpRequest.newBuilder(metrics).timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.body()).contains("q2q_registrations_total{result=\"ok\"} 1.0", "q2q_accounts_created_total 1.0",
          "q2q_nodes_live 1.0", "q2q_listen_sessions 0.0", "q2q_server_info{ca_fingerprint=\"SHA256:");

      p.destroy(); // SIGTERM
      assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    } finally {
      p.destroyForcibly();
    }
  }
}
