package org.q2q.tools;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.q2q.server.PresenceServer;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * {@code q2q warmup} (hidden): one small send between two addresses of a throw-away server, all in
 * this process on loopback. The launcher runs it once with {@code -XX:ArchiveClassesAtExit} so that
 * later commands map the classes a send and a receive load from a class-data-sharing archive
 * instead of loading and verifying them again (about a third of a small send's time).
 */
@Command(name = "warmup", hidden = true, mixinStandardHelpOptions = true,
    description = "Run one small loopback send in this process (the launcher's start-up archive is made from it).")
final class WarmupCommand implements Callable<Integer> {
  private static final long STEP_SECONDS = 60;

  @Spec private CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    Path work = Files.createTempDirectory("q2q-warmup-");
    try (PresenceServer server = PresenceServer.builder()
        .domain("localhost").dataDir(work.resolve("server")).port(0).bindHost("127.0.0.1")
        .shutdownGrace(Duration.ofMillis(200)).build().start()) {
      String hostPort = "127.0.0.1:" + server.port();
      String ca = server.ca().fingerprint().toString();
      for (String who : new String[] {"alice", "bob"}) {
        int registered = run(work, who, "secret\n", "register", who + "@localhost", "--server", hostPort,
            "--password-stdin", "--ca-fingerprint", ca).exit.get(STEP_SECONDS, TimeUnit.SECONDS);
        if (registered != ExitCodes.OK) {
          throw new IllegalStateException("warmup: register " + who + " exited " + registered);
        }
      }
      Path file = work.resolve("hello.txt");
      Files.writeString(file, "hello\n");
      Run receive = run(work, "bob", "", "receive", "--dir", work.resolve("in").toString(), "--once");
      Files.createDirectories(work.resolve("in"));
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(STEP_SECONDS);
      while (!receive.out().contains("ready:") && !receive.exit.isDone() && System.nanoTime() < deadline) {
        Thread.sleep(10); // polling with a deadline: the receiver prints ready once listening
      }
      int sent = run(work, "alice", "", "send", "bob@localhost", file.toString())
          .exit.get(STEP_SECONDS, TimeUnit.SECONDS);
      int received = receive.exit.get(STEP_SECONDS, TimeUnit.SECONDS);
      PrintWriter out = spec.commandLine().getOut();
      out.println("warmup: send exited " + sent + ", receive exited " + received);
      return sent == 0 && received == 0 ? ExitCodes.OK : ExitCodes.FAILURE;
    } finally {
      deleteTree(work);
    }
  }

  /** One command's output, collected in memory. */
  private static final class Run {
    final StringWriter out = new StringWriter();
    final CompletableFuture<Integer> exit = new CompletableFuture<>();

    String out() {
      synchronized (out) {
        return out.toString();
      }
    }
  }

  private Run run(Path work, String who, String stdin, String... args) {
    Run run = new Run();
    Map<String, String> env = Map.of("Q2Q_HOME", work.resolve("home-" + who).toString());
    CommandLine cl = Main.commandLine(new CliEnvironment(
        env, new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8)), null));
    cl.setOut(new PrintWriter(run.out, true));
    cl.setErr(new PrintWriter(new StringWriter(), true));
    Thread t = new Thread(() -> {
      try {
        run.exit.complete(cl.execute(args));
      } catch (Throwable e) {
        run.exit.completeExceptionally(e);
      }
    }, "q2q-warmup-" + who + "-" + args[0]);
    t.setDaemon(true);
    t.start();
    return run;
  }

  private static void deleteTree(Path root) {
    try (Stream<Path> s = Files.walk(root)) {
      s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
