package org.q2q.tools;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.q2q.server.LoopbackServer;
import picocli.CommandLine;

/** q2q send / q2q receive in-process, against a real presence server on loopback. */
@Timeout(120)
class SendReceiveCommandTest {
  @TempDir Path dir;
  private LoopbackServer server;

  /** One command run; out/err are live while it runs. */
  static final class Run {
    final StringWriter out = new StringWriter();
    final StringWriter err = new StringWriter();
    final CompletableFuture<Integer> exit = new CompletableFuture<>();

    String out() {
      synchronized (out) {
        return out.toString();
      }
    }

    String err() {
      synchronized (err) {
        return err.toString();
      }
    }
  }

  @BeforeEach
  void start() throws Exception {
    server = LoopbackServer.start();
    for (String who : List.of("alice", "bob", "carol")) {
      Run r = q2qSync(who, "secret\n", "register", who + "@localhost", "--server", server.hostPort(), "--password-stdin", "--yes");
      assertThat(r.exit.get()).as(r.err()).isZero();
    }
  }

  @AfterEach
  void stop() {
    server.close();
  }

  private Map<String, String> env(String who) {
    return Map.of("Q2Q_HOME", dir.resolve("home-" + who).toString());
  }

  private Run q2q(String who, String stdin, String... args) {
    Run run = new Run();
    CommandLine cl = Main.commandLine(new CliEnvironment(
        env(who), new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8)), null));
    cl.setOut(new PrintWriter(run.out, true));
    cl.setErr(new PrintWriter(run.err, true));
    Thread t = new Thread(() -> {
      try {
        run.exit.complete(cl.execute(args));
      } catch (Throwable e) {
        run.exit.completeExceptionally(e);
      }
    }, "q2q-" + who + "-" + args[0]);
    t.setDaemon(true);
    t.start();
    return run;
  }

  private Run q2qSync(String who, String stdin, String... args) throws Exception {
    Run r = q2q(who, stdin, args);
    r.exit.get(90, TimeUnit.SECONDS);
    return r;
  }

  private Run receiveUntilReady(String... args) throws Exception {
    Run r = q2q("bob", "", args);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (!r.out().contains("ready:")) {
      assertThat(r.exit).as("receive ended early: " + r.err()).isNotDone();
      assertThat(System.nanoTime()).as("no ready: line").isLessThan(deadline);
      Thread.sleep(20); // polling with a deadline
    }
    return r;
  }

  private static List<Path> list(Path folder) throws Exception {
    try (Stream<Path> s = Files.list(folder)) {
      return s.sorted().toList();
    }
  }

  @Test
  void aFileArrivesIntactUnderItsNameThenUnderANewNameWithoutOverwriting() throws Exception {
    Path inbox = dir.resolve("inbox");
    byte[] content = new byte[3 << 20];
    new SplittableRandom(1).nextBytes(content);
    Path file = dir.resolve("report.bin");
    Files.write(file, content);

    Run recv = receiveUntilReady("receive", "--dir", inbox.toString(), "--once");
    assertThat(recv.out()).startsWith("ready: receiving files for bob@localhost into " + inbox
        + " from anyone at @localhost only (its own domain) (accept others with --from ADDRESS or --from @DOMAIN)");
    Run send = q2qSync("alice", "", "send", "bob@localhost", file.toString());
    assertThat(send.exit.get()).as(send.err()).isZero();
    assertThat(send.out())
        .contains("sending report.bin (3.0 MiB) to bob@localhost via direct tcp ") // on one host: direct
        .contains("sent report.bin (3.0 MiB) to bob@localhost via direct tcp ")
        .contains(": all stored and verified by bob@localhost (SHA-256 per 1 MiB chunk and per file)");
    assertThat(recv.exit.get(30, TimeUnit.SECONDS)).as(recv.err()).isZero();
    assertThat(recv.out()).contains("receiving 3.0 MiB from alice@localhost")
        .contains("received 1 file (3.0 MiB) from alice@localhost into " + inbox + ": report.bin in ")
        .contains("every file verified (SHA-256 per 1 MiB chunk and per file) and synced to disk");
    assertThat(Files.readAllBytes(inbox.resolve("report.bin"))).isEqualTo(content);

    // the same name again: stored next to it, the first one untouched, both sides told
    Run recv2 = receiveUntilReady("receive", "--dir", inbox.toString(), "--once");
    Run send2 = q2qSync("alice", "", "send", "bob@localhost", file.toString());
    assertThat(send2.exit.get()).as(send2.err()).isZero();
    assertThat(send2.out()).contains("bob@localhost: 'report.bin' existed: stored as 'report (1).bin'");
    assertThat(recv2.exit.get(30, TimeUnit.SECONDS)).isZero();
    assertThat(recv2.out()).contains("note: 'report.bin' existed: stored as 'report (1).bin'");
    assertThat(list(inbox)).extracting(p -> p.getFileName().toString())
        .containsExactly(".q2q-partial", "report (1).bin", "report.bin");
    assertThat(list(inbox.resolve(".q2q-partial"))).isEmpty();
    assertThat(Files.readAllBytes(inbox.resolve("report (1).bin"))).isEqualTo(content);
  }

  @Test
  void eachTransportChoiceWorksAndSaysWhichPathCarriedTheFile() throws Exception {
    byte[] content = new byte[1 << 20];
    new SplittableRandom(2).nextBytes(content);
    Path file = dir.resolve("data.bin");
    Files.write(file, content);
    int i = 0;
    for (String transport : List.of("direct", "ptcp", "relay", "auto")) {
      Path inbox = dir.resolve("inbox-" + transport);
      Run recv = receiveUntilReady("receive", "--dir", inbox.toString(), "--once");
      Run send = q2qSync("alice", "", "send", "--transport", transport, "-v", "bob@localhost", file.toString());
      assertThat(send.exit.get()).as(send.err()).isZero();
      assertThat(send.out()).contains(switch (transport) {
        case "relay" -> "to bob@localhost via relay through 127.0.0.1:" + server.port();
        case "ptcp" -> "to bob@localhost via ptcp ";
        default -> "to bob@localhost via direct tcp ";
      });
      // -v: every attempt with its start, its end and why it lost
      assertThat(send.err()).contains("connect +").contains(" won after ")
          .contains(transport.equals("relay") ? "relay through" : transport.equals("ptcp") ? "punch round 1" : "direct tcp");
      assertThat(recv.exit.get(30, TimeUnit.SECONDS)).as(recv.err()).isZero();
      assertThat(Files.readAllBytes(inbox.resolve("data.bin"))).as(transport).isEqualTo(content);
      i++;
    }
    assertThat(i).isEqualTo(4);
  }

  @Test
  void receiveListensOnTheGivenPortAndSaysSoOrWhyItCannot() throws Exception {
    int port;
    try (java.net.ServerSocket probe = new java.net.ServerSocket(0)) {
      port = probe.getLocalPort();
    }
    Run recv = receiveUntilReady("receive", "--dir", dir.resolve("in").toString(), "--port", String.valueOf(port));
    assertThat(recv.out()).contains("direct connections on TCP port " + port);
    try (java.net.Socket s = new java.net.Socket("127.0.0.1", port)) {
      assertThat(s.isConnected()).isTrue();
    }
    Run clash = q2qSync("bob", "", "receive", "--dir", dir.resolve("in2").toString(), "--port", String.valueOf(port));
    assertThat(clash.exit.get()).isNotZero();
    assertThat(clash.err()).contains("cannot listen for peers on TCP port " + port);
  }

  @Test
  void sendersNotListedWithFromAreDeclinedAndByDefaultOnlyTheOwnDomainIsAccepted() throws Exception {
    Path inbox = dir.resolve("inbox");
    Path file = Files.writeString(dir.resolve("note.txt"), "hello");
    Run recv = receiveUntilReady("receive", "--dir", inbox.toString(), "--from", "carol@localhost", "--from", "@example.org", "--once");
    assertThat(recv.out()).contains(" from carol@localhost, anyone at @example.org only;");

    Run alice = q2qSync("alice", "", "send", "bob@localhost", file.toString());
    assertThat(alice.exit.get()).isEqualTo(ExitCodes.REFUSED);
    assertThat(alice.err()).contains("alice@localhost is not allowed to use file here");
    assertThat(recv.err()).contains("q2q: declined files from alice@localhost (accept them with --from alice@localhost or --from @localhost)");
    assertThat(list(inbox)).isEmpty();

    Run carol = q2qSync("carol", "", "send", "bob@localhost", file.toString());
    assertThat(carol.exit.get()).as(carol.err()).isZero();
    assertThat(recv.exit.get(30, TimeUnit.SECONDS)).isZero();
    assertThat(Files.readString(inbox.resolve("note.txt"))).isEqualTo("hello");
  }

  @Test
  void theDefaultPolicyNamesTheOwnDomain() {
    assertThat(ReceiveCommand.describe(java.util.Set.of(), java.util.Set.of("localhost"), true))
        .isEqualTo("anyone at @localhost only (its own domain)");
  }

  @Test
  void clearErrorsForAMissingFileAndAnAbsentReceiver() throws Exception {
    Run usage = q2qSync("alice", "", "send", "bob@localhost");
    assertThat(usage.exit.get()).isEqualTo(ExitCodes.USAGE);
    Run missing = q2qSync("alice", "", "send", "bob@localhost", dir.resolve("nope.txt").toString());
    assertThat(missing.exit.get()).isEqualTo(ExitCodes.USAGE);
    assertThat(missing.err()).contains("nope.txt does not exist");

    Path file = Files.writeString(dir.resolve("x.txt"), "x");
    Run nobody = q2qSync("alice", "", "send", "bob@localhost", file.toString());
    assertThat(nobody.exit.get()).isEqualTo(ExitCodes.FAILURE);
    assertThat(nobody.err()).contains("cannot reach bob@localhost/file");
  }
}
