package org.q2q.tools;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.q2q.client.internal.net.SocketTransport;

/**
 * Test fixture: {@code q2q} run as a real process (a JVM on the test classpath, production logging),
 * its stdout collected line by line and its stderr in a file.
 */
final class Q2qProcess implements AutoCloseable {
  /**
   * The environment of {@code who} for processes against {@code server}: a home under {@code dir}
   * with its identity (issued directly, no Sign round trip), the CA pinned and the server remembered.
   */
  static Map<String, String> home(org.q2q.server.LoopbackServer server, Path dir, String who) throws Exception {
    Path root = dir.resolve("home-" + who);
    org.q2q.certstore.ClientHome home = new org.q2q.certstore.ClientHome(root);
    if (home.addresses().isEmpty()) {
      org.q2q.certstore.Identity id = server.issueIdentity(who + "@localhost");
      home.save(id);
      home.pins().verifyOrPin("localhost", server.server().ca().certificate(), null);
      home.saveServer(id.address(), server.hostPort());
    }
    return Map.of("Q2Q_HOME", root.toString());
  }

  private final Process process;
  private final Path stderr;
  private final List<String> lines = new ArrayList<>();

  private Q2qProcess(Process process, Path stderr) {
    this.process = process;
    this.stderr = stderr;
    Thread t = new Thread(() -> {
      try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
        for (String line; (line = r.readLine()) != null; ) {
          synchronized (lines) {
            lines.add(line);
            lines.notifyAll();
          }
        }
      } catch (IOException e) {
        // the process ended
      }
    }, "q2q-process-out");
    t.setDaemon(true);
    t.start();
  }

  /** Starts {@code q2q args...} with {@code env} added to the environment; stderr goes to {@code dir/<name>.err}. */
  static Q2qProcess start(Path dir, String name, Map<String, String> env, String... args) throws IOException {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    List<String> cmd = new ArrayList<>(List.of(java, "-Xmx256m", "-XX:+UseSerialGC",
        "-Dlogback.configurationFile=logback.xml", "-cp", System.getProperty("java.class.path"),
        Main.class.getName()));
    String transport = System.getProperty(SocketTransport.PROPERTY); // the suite run on another transport
    if (transport != null) {
      cmd.add(1, "-D" + SocketTransport.PROPERTY + "=" + transport);
    }
    cmd.addAll(List.of(args));
    Path err = dir.resolve(name + ".err");
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(err.toFile());
    pb.environment().putAll(env);
    return new Q2qProcess(pb.start(), err);
  }

  /** Waits for a stdout line starting with {@code prefix}; fails if the process ends first. */
  String awaitLine(String prefix, long timeoutSeconds) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(timeoutSeconds);
    synchronized (lines) {
      for (int seen = 0; ; ) {
        for (; seen < lines.size(); seen++) {
          if (lines.get(seen).startsWith(prefix)) {
            return lines.get(seen);
          }
        }
        long left = deadline - System.nanoTime();
        if (left <= 0 || (!process.isAlive() && seen == lines.size())) {
          throw new AssertionError("no line starting with '" + prefix + "'; stdout: " + lines + "; stderr: " + stderr()
              + (process.isAlive() ? "" : "; exit " + process.exitValue()));
        }
        lines.wait(Math.min(100, TimeUnit.NANOSECONDS.toMillis(left) + 1));
      }
    }
  }

  /** Stdout so far. */
  List<String> stdout() {
    synchronized (lines) {
      return List.copyOf(lines);
    }
  }

  /** Stderr so far. */
  String stderr() throws IOException {
    return Files.exists(stderr) ? Files.readString(stderr) : "";
  }

  /** True while the process runs. */
  boolean isAlive() {
    return process.isAlive();
  }

  /** Waits for the exit and returns its code. */
  int awaitExit(long timeoutSeconds) throws Exception {
    if (!process.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
      throw new AssertionError("still running after " + timeoutSeconds + " s; stderr: " + stderr());
    }
    return process.exitValue();
  }

  /** SIGTERM, as Ctrl-C or a service manager would; waits for the exit. */
  void stop() throws Exception {
    process.destroy();
    process.waitFor(30, TimeUnit.SECONDS);
  }

  @Override
  public void close() {
    process.destroyForcibly();
  }
}
