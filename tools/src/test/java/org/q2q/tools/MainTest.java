package org.q2q.tools;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.q2q.certstore.Address;
import org.q2q.server.LoopbackServer;
import org.q2q.server.RegistrationMode;
import picocli.CommandLine;

/** The q2q command line, in-process, against a real presence server on loopback. */
@Timeout(60)
class MainTest {
  @TempDir Path home;

  private CliRun q2q(String stdin, String... args) {
    return q2q(Map.of("Q2Q_HOME", home.toString()), stdin, args);
  }

  private static CliRun q2q(Map<String, String> env, String stdin, String... args) {
    return q2q(new CliEnvironment(env, new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8)), null), args);
  }

  private static CliRun q2q(CliEnvironment environment, String... args) {
    return CliRun.of(environment, args);
  }

  @Test
  void clientCommandsRunOnNettysPooledAllocatorTheServerOnItsDefaultAndAUsersSettingWins() {
    java.util.Properties forward = new java.util.Properties();
    Main.nettyDefaults(ForwardCommand.class, forward);
    assertThat(forward.getProperty("io.netty.allocator.type")).isEqualTo("pooled");
    assertThat(forward.getProperty("io.netty.jfr.enabled")).isEqualTo("false");

    java.util.Properties server = new java.util.Properties();
    Main.nettyDefaults(ServerCommand.class, server);
    assertThat(server.getProperty("io.netty.allocator.type")).isNull();
    assertThat(server.getProperty("io.netty.jfr.enabled")).isEqualTo("false");

    java.util.Properties own = new java.util.Properties();
    own.setProperty("io.netty.allocator.type", "adaptive");
    Main.nettyDefaults(SendCommand.class, own);
    assertThat(own.getProperty("io.netty.allocator.type")).isEqualTo("adaptive");
  }

  @Test
  void aNamedCommandAloneIsBuiltAndAnythingElseGetsEveryCommand() {
    CliEnvironment env = new CliEnvironment(Map.of("Q2Q_HOME", home.toString()), new ByteArrayInputStream(new byte[0]), null);
    CommandLine send = Main.commandLine(env, new String[] {"-v", "send", "--help"});
    assertThat(send.getSubcommands()).containsOnlyKeys("send");
    StringWriter out = new StringWriter();
    send.setOut(new PrintWriter(out, true));
    assertThat(send.execute("-v", "send", "--help")).isZero();
    assertThat(out.toString()).contains("Usage: q2q send", "--transport");
    for (String[] args : List.of(new String[] {"--help"}, new String[] {"help", "send"}, new String[] {"sned"})) {
      assertThat(Main.commandLine(env, args).getSubcommands()).as(String.join(" ", args))
          .containsKeys("help", "server", "send", "receive", "expose", "forward", "gateway");
    }
  }

  @Test
  void theServersListenerAndRelayCapsMustBePositive() throws Exception {
    CliRun r = q2q("", "server", "--data", home.resolve("data").toString(), "--port", "0", "--bind", "127.0.0.1",
        "--max-listeners", "0");
    assertThat(r.exit()).isEqualTo(2);
    assertThat(r.err()).contains("--max-listeners must be at least 1");
    r = q2q("", "server", "--data", home.resolve("data").toString(), "--port", "0", "--bind", "127.0.0.1",
        "--max-relays", "0");
    assertThat(r.exit()).isEqualTo(2);
    assertThat(r.err()).contains("--max-relays must be at least 1");
  }

  /**
   * {@code q2q receive --max-transfers N} sets how many transfers the receiver takes at once (the
   * refusal past them is FileTransferTest's); 0 is refused before anything starts.
   */
  @Test
  void maxTransfersSetsHowManyTransfersTheReceiverTakesAtOnce() throws Exception {
    CliEnvironment env = new CliEnvironment(Map.of("Q2Q_HOME", home.toString()), new ByteArrayInputStream(new byte[0]), null);
    String[] args = {"receive", "--max-transfers", "8"};
    ReceiveCommand receive = (ReceiveCommand) Main.commandLine(env, args).parseArgs(args).subcommand().commandSpec().userObject();
    assertThat(receive.receiverOptions().maxConcurrent()).isEqualTo(8);
    args = new String[] {"receive"};
    receive = (ReceiveCommand) Main.commandLine(env, args).parseArgs(args).subcommand().commandSpec().userObject();
    assertThat(receive.receiverOptions().maxConcurrent()).isEqualTo(4);
    CliRun r = q2q("", "receive", "--max-transfers", "0");
    assertThat(r.exit()).isEqualTo(2);
    assertThat(r.err()).contains("--max-transfers must be at least 1");
  }

  /** The flag reaches the server's relay caps (which RelayTimersAndCapsTest shows refusing past them). */
  @Test
  void maxRelaysSetsHowManyRelayedConnectionsTheServerHolds() {
    CliEnvironment env = new CliEnvironment(Map.of("Q2Q_HOME", home.toString()), new ByteArrayInputStream(new byte[0]), null);
    String[] args = {"server", "--data", home.resolve("data").toString(), "--max-relays", "3"};
    CommandLine cl = Main.commandLine(env, args);
    ServerCommand server = (ServerCommand) cl.parseArgs(args).subcommand().commandSpec().userObject();
    assertThat(server.presenceConfig().relayCaps().maxStreams()).as("two streams or sockets a pair").isEqualTo(6);
    args = new String[] {"server", "--data", home.resolve("data").toString()};
    server = (ServerCommand) Main.commandLine(env, args).parseArgs(args).subcommand().commandSpec().userObject();
    assertThat(server.presenceConfig().relayCaps().maxStreams())
        .isEqualTo(2 * org.q2q.server.presence.RelayCaps.DEFAULT_MAX_PAIRS);
  }

  @Test
  void theMetricsOptionNeedsHostAndPortAndIsInTheServersHelp() throws Exception {
    for (String bad : List.of("9788", "127.0.0.1", "::1:9788", "127.0.0.1:http", "127.0.0.1:70000")) {
      CliRun r = q2q("", "server", "--data", home.resolve("data").toString(), "--port", "0", "--bind", "127.0.0.1",
          "--metrics", bad);
      assertThat(r.exit()).as(bad).isEqualTo(2);
      assertThat(r.err()).as(bad).contains("--metrics " + bad + ": ");
    }
    CliRun help = q2q("", "server", "--help");
    assertThat(help.exit()).isZero();
    assertThat(help.out()).contains("--metrics=HOST:PORT", "Prometheus", "health");
  }

  @Test
  void helpListsTheCommands() {
    CliRun r = q2q("", "--help");
    assertThat(r.exit()).isZero();
    assertThat(r.out()).contains("server", "register", "whoami", "identify", "help").contains("Exit codes");
  }

  @Test
  void everyCommandPrintsHelpAndExitsZero() {
    List<List<String>> commands = new ArrayList<>();
    collect(Main.commandLine(CliEnvironment.system()), new ArrayList<>(), commands);
    assertThat(commands).extracting(c -> String.join(" ", c))
        .contains("send", "receive", "server", "server adduser", "expose", "forward", "gateway", "register");
    for (List<String> c : commands) {
      List<String> args = new ArrayList<>(c);
      args.add("--help");
      CliRun r = q2q("", args.toArray(String[]::new));
      assertThat(r.exit()).as(String.join(" ", args) + r.err()).isZero();
      assertThat(r.out()).as(String.join(" ", args)).startsWith("Usage: q2q " + String.join(" ", c));
    }
  }

  private static void collect(CommandLine cl, List<String> prefix, List<List<String>> out) {
    for (Map.Entry<String, CommandLine> sub : cl.getSubcommands().entrySet()) {
      if (sub.getKey().equals("help")) {
        continue; // 'help' prints help of others; it takes no --help of its own
      }
      List<String> c = new ArrayList<>(prefix);
      c.add(sub.getKey());
      out.add(c);
      collect(sub.getValue(), c, out);
    }
  }

  @Test
  void sendAndReceiveHelpPrintTheirOptionsAndExitZero() {
    CliRun send = q2q("", "send", "--help");
    assertThat(send.exit()).isZero();
    assertThat(send.out()).contains("--transport", "auto|direct|ptcp|relay", "TO", "PATH");
    CliRun receive = q2q("", "receive", "--help");
    assertThat(receive.exit()).isZero();
    assertThat(receive.out()).contains("--port", "--udp-port", "--no-direct", "--once", "--from", "--overwrite", "--allow-hidden");
    assertThat(send.out()).contains("PATH...", "--quiet");
  }

  @Test
  void registerWhoamiAndIdentify() throws Exception {
    try (LoopbackServer s = LoopbackServer.start()) {
      CliRun reg = q2q("secret\n", "register", "alice@localhost", "--server", s.hostPort(), "--password-stdin", "--yes");
      assertThat(reg.err()).isEmpty();
      assertThat(reg.exit()).isZero();
      String fp = s.server().ca().fingerprint().toString();
      assertThat(reg.out())
          .contains("registered alice@localhost at " + s.hostPort())
          .contains("CA of localhost: " + fp + " (newly pinned)")
          .contains("identity stored in " + home.resolve("identities/alice@localhost"))
          .contains("certificate valid until ");
      assertThat(Files.getPosixFilePermissions(home.resolve("identities/alice@localhost/key.pem")))
          .isEqualTo(PosixFilePermissions.fromString("rw-------"));

      CliRun who = q2q("", "whoami"); // the only identity, its remembered server
      assertThat(who.exit()).as(who.err()).isZero();
      assertThat(who.out())
          .contains("identity     alice@localhost")
          .contains("server       " + s.hostPort())
          .containsPattern("seen as      127\\.0\\.0\\.1:\\d+");

      CliRun id = q2q("", "identify", "localhost", "--server", s.hostPort());
      assertThat(id.exit()).as(id.err()).isZero();
      assertThat(id.out()).contains("localhost CA " + fp).contains("the same");

      CliRun again = q2q("secret\n", "register", "alice@localhost", "--password-stdin");
      assertThat(again.exit()).as(again.err()).isZero();
      assertThat(again.out()).contains("(already pinned)");
    }
  }

  @Test
  void severalServersAreTriedInOrderAndAllRemembered() throws Exception {
    int closed;
    try (java.net.ServerSocket probe = new java.net.ServerSocket(0)) {
      closed = probe.getLocalPort(); // refused once closed: a node that is down
    }
    try (LoopbackServer s = LoopbackServer.start()) {
      String dead = "127.0.0.1:" + closed;
      CliRun reg = q2q("secret\n", "register", "alice@localhost", "--server", dead, "--server", s.hostPort(),
          "--password-stdin", "--yes");
      assertThat(reg.exit()).as(reg.err()).isZero();
      assertThat(reg.out()).contains("registered alice@localhost at " + s.hostPort());

      CliRun who = q2q("", "whoami"); // both remembered, in order
      assertThat(who.exit()).as(who.err()).isZero();
      assertThat(who.out()).contains("server       " + dead + " or " + s.hostPort());

      CliRun id = q2q("", "identify", "localhost", "--server", dead + "," + s.hostPort());
      assertThat(id.exit()).as(id.err()).isZero();
      assertThat(id.out()).contains("localhost CA " + s.server().ca().fingerprint());
    }
  }

  @Test
  void aWrongPasswordIsOneLineAndExitCode3() throws Exception {
    try (LoopbackServer s = LoopbackServer.start()) {
      assertThat(q2q("secret\n", "register", "alice@localhost", "--server", s.hostPort(), "--password-stdin", "--yes").exit()).isZero();
      Path other = home.resolve("other");
      CliRun r = q2q(Map.of("Q2Q_HOME", other.toString()), "guess\n",
          "register", "alice@localhost", "--server", s.hostPort(), "--password-stdin", "--yes");
      assertThat(r.exit()).isEqualTo(ExitCodes.REFUSED);
      assertThat(r.err()).isEqualTo("q2q: wrong password for alice@localhost" + System.lineSeparator());
    }
  }

  @Test
  void anInvalidAddressSaysWhyWithExitCode2() {
    CliRun r = q2q("secret\n", "register", "alice@bob@localhost", "--password-stdin");
    assertThat(r.exit()).isEqualTo(ExitCodes.USAGE);
    assertThat(r.err()).isEqualTo(
        "q2q: invalid address 'alice@bob@localhost': contains more than one '@'" + System.lineSeparator());
  }

  @Test
  void anUnreachableServerIsExitCode4() throws Exception {
    int port;
    try (java.net.ServerSocket ss = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      port = ss.getLocalPort();
    }
    CliRun r = q2q("secret\n", "register", "alice@localhost", "--server", "127.0.0.1:" + port, "--password-stdin");
    assertThat(r.exit()).isEqualTo(ExitCodes.UNREACHABLE);
    assertThat(r.err()).isEqualTo(
        "q2q: server 127.0.0.1:" + port + " is not reachable: connection refused" + System.lineSeparator());
  }

  @Test
  void stackTracesOnlyWithVerbose() {
    CliRun quiet = q2q("", "whoami");
    assertThat(quiet.exit()).isEqualTo(ExitCodes.USAGE);
    assertThat(quiet.err()).startsWith("q2q: there is no identity in ").doesNotContain("\tat ");
    CliRun loud = q2q("", "-v", "whoami");
    assertThat(loud.err()).contains("\tat ");
  }

  @Test
  void whoamiWithSeveralIdentitiesAsksForAs() throws Exception {
    try (LoopbackServer s = LoopbackServer.start()) {
      q2q("a\n", "register", "alice@localhost", "--server", s.hostPort(), "--password-stdin", "--yes");
      q2q("b\n", "register", "bob@localhost", "--server", s.hostPort(), "--password-stdin", "--yes");
      CliRun r = q2q("", "whoami");
      assertThat(r.exit()).isEqualTo(ExitCodes.USAGE);
      assertThat(r.err()).contains("alice@localhost, bob@localhost").contains("--as");
      CliRun bob = q2q("", "whoami", "--as", "bob@localhost");
      assertThat(bob.exit()).as(bob.err()).isZero();
      assertThat(bob.out()).contains("identity     bob@localhost");
    }
  }

  @Test
  void adduserMakesAnAccountAClosedServerAccepts() throws Exception {
    try (LoopbackServer s = LoopbackServer.start("localhost", b -> b.registration(RegistrationMode.CLOSED))) {
      CliRun refused = q2q("pw\n", "register", "carol@localhost", "--server", s.hostPort(), "--password-stdin", "--yes");
      assertThat(refused.exit()).isEqualTo(ExitCodes.REFUSED);
      assertThat(refused.err()).contains("no account carol@localhost").contains("registration is closed");

      CliRun add = q2q("pw\n", "server", "adduser", "carol@localhost", "--data", s.dataDir().toString(), "--password-stdin");
      assertThat(add.exit()).as(add.err()).isZero();
      assertThat(s.server().accounts().find(Address.parse("carol@localhost"))).isPresent();

      CliRun ok = q2q("pw\n", "register", "carol@localhost", "--server", s.hostPort(), "--password-stdin", "--yes");
      assertThat(ok.exit()).as(ok.err()).isZero();

      CliRun otherDomain = q2q("pw\n", "server", "adduser", "dave@example.com", "--data", s.dataDir().toString(), "--password-stdin");
      assertThat(otherDomain.exit()).isEqualTo(ExitCodes.USAGE);
      assertThat(otherDomain.err()).contains("speaks for localhost");
    }
  }

  @Test
  void anUnknownOptionIsAUsageError() {
    CliRun r = q2q("", "register", "alice@localhost", "--frobnicate");
    assertThat(r.exit()).isEqualTo(ExitCodes.USAGE);
    assertThat(r.err()).startsWith("q2q: Unknown option: '--frobnicate'").contains("q2q register --help");
  }

  /** A terminal that answers the prompts in order and records them. */
  static final class ScriptedTerminal implements CliEnvironment.PasswordTerminal {
    final java.util.Deque<String> answers;
    final java.util.List<String> prompts = new java.util.ArrayList<>();

    ScriptedTerminal(String... answers) {
      this.answers = new java.util.ArrayDeque<>(java.util.List.of(answers));
    }

    @Override
    public char[] readPassword(String prompt) {
      prompts.add(prompt);
      String a = answers.poll();
      return a == null ? null : a.toCharArray();
    }
  }

  @Test
  void withoutPasswordStdinThePasswordIsAskedOnTheTerminalAndAdduserAsksTwice(@TempDir Path data) throws Exception {
    Map<String, String> env = Map.of("Q2Q_HOME", home.toString());
    ScriptedTerminal differ = new ScriptedTerminal("pw1", "pw2");
    CliRun mismatch = q2q(new CliEnvironment(env, new ByteArrayInputStream(new byte[0]), differ),
        "server", "adduser", "carol@localhost", "--data", data.toString());
    assertThat(mismatch.exit()).isEqualTo(ExitCodes.USAGE);
    assertThat(mismatch.err()).contains("the two passwords differ");
    assertThat(differ.prompts).containsExactly("New password for carol@localhost: ", "Again: ");

    CliRun added = q2q(new CliEnvironment(env, new ByteArrayInputStream(new byte[0]), new ScriptedTerminal("pw", "pw")),
        "server", "adduser", "carol@localhost", "--data", data.toString());
    assertThat(added.exit()).as(added.err()).isZero();

    try (LoopbackServer s = LoopbackServer.start()) {
      ScriptedTerminal t = new ScriptedTerminal("y", "secret");
      CliRun reg = q2q(new CliEnvironment(env, new ByteArrayInputStream(new byte[0]), t),
          "register", "alice@localhost", "--server", s.hostPort());
      assertThat(reg.exit()).as(reg.err()).isZero();
      // the new CA is shown and confirmed before the password is asked for (review M4)
      assertThat(t.prompts).containsExactly(
          "Trust it and send your password to this server? [y/N] ", "Password for alice@localhost: ");
      assertThat(reg.err()).contains(s.server().ca().fingerprint().toString());
    }
    CliRun noTerminal = q2q("", "register", "bob@localhost", "--server", "127.0.0.1:1");
    assertThat(noTerminal.exit()).isEqualTo(ExitCodes.USAGE);
    assertThat(noTerminal.err()).contains("no terminal to ask for the password; use --password-stdin");
  }

  @Test
  void aServerOnABusyPortSaysSo(@TempDir Path data) throws Exception {
    try (LoopbackServer s = LoopbackServer.start()) {
      CliRun r = q2q("", "server", "--port", String.valueOf(s.port()), "--bind", "127.0.0.1", "--data", data.toString());
      assertThat(r.exit()).isEqualTo(ExitCodes.FAILURE);
      assertThat(r.err()).startsWith("q2q: cannot listen on 127.0.0.1:" + s.port()).contains("choose another --port");
    }
  }
}
