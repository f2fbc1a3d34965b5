package org.q2q.tools;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.q2q.server.LoopbackServer;

/**
 * {@code q2q expose}, {@code forward} and {@code gateway} as real processes on loopback, with a
 * presence server and an HTTP server in the test JVM.
 */
@Timeout(180)
class ForwardCommandsTest {
  private static final Pattern LISTEN = Pattern.compile("ready: forwarding 127\\.0\\.0\\.1:(\\d+) ");

  @TempDir Path dir;
  private LoopbackServer server;
  private TestHttpServer http;
  private final List<Q2qProcess> processes = new ArrayList<>();

  @BeforeEach
  void start() throws Exception {
    server = LoopbackServer.start();
    http = new TestHttpServer();
  }

  @AfterEach
  void stop() throws IOException {
    processes.forEach(Q2qProcess::close);
    http.close();
    server.close();
  }

  /** The environment of {@code who} (a home with its identity, the CA pinned and the server remembered). */
  private Map<String, String> home(String who) throws Exception {
    return Q2qProcess.home(server, dir, who);
  }

  private Q2qProcess q2q(String who, String... args) throws Exception {
    Q2qProcess p = Q2qProcess.start(dir, who + "-" + args[0] + "-" + processes.size(), home(who), args);
    processes.add(p);
    return p;
  }

  private Q2qProcess expose(String... more) throws Exception {
    List<String> args = new ArrayList<>(List.of("expose", "web", "127.0.0.1:" + http.port()));
    args.addAll(List.of(more));
    Q2qProcess p = q2q("bob", args.toArray(String[]::new));
    assertThat(p.awaitLine("ready:", 60)).contains("bob@localhost/web");
    return p;
  }

  /** Starts a forwarder for {@code who} to bob@localhost/web; returns its local port. */
  private int forward(String who, Q2qProcess[] holder) throws Exception {
    Q2qProcess p = q2q(who, "forward", "0", "bob@localhost/web");
    if (holder != null) {
      holder[0] = p;
    }
    Matcher m = LISTEN.matcher(p.awaitLine("ready:", 60));
    assertThat(m.find()).isTrue();
    return Integer.parseInt(m.group(1));
  }

  /** Runs {@code q2q args} in-process as {@code who}; returns exit code and stderr. */
  private Map.Entry<Integer, String> inProcess(String who, String... args) throws Exception {
    java.io.StringWriter err = new java.io.StringWriter();
    picocli.CommandLine cl = Main.commandLine(new CliEnvironment(home(who),
        new java.io.ByteArrayInputStream(new byte[0]), null));
    cl.setOut(new java.io.PrintWriter(new java.io.StringWriter(), true));
    cl.setErr(new java.io.PrintWriter(err, true));
    int code = cl.execute(args);
    return Map.entry(code, err.toString());
  }

  @Test
  void usageErrorsSayWhatToWrite() throws Exception {
    assertThat(inProcess("alice", "forward", "9000")).satisfies(r -> {
      assertThat(r.getKey()).isEqualTo(ExitCodes.USAGE);
      assertThat(r.getValue()).contains("TARGET");
    });
    assertThat(inProcess("alice", "forward", "9000", "bob@localhost")).satisfies(r -> {
      assertThat(r.getKey()).isEqualTo(ExitCodes.USAGE);
      assertThat(r.getValue()).contains("names no service").contains("ADDRESS/SERVICE");
    });
    assertThat(inProcess("alice", "forward", "--remote", "9000", "gw@localhost")).satisfies(r -> {
      assertThat(r.getKey()).isEqualTo(ExitCodes.USAGE);
      assertThat(r.getValue()).contains("--remote needs [BIND_HOST:]PORT ADDRESS HOST:PORT");
    });
    assertThat(inProcess("bob", "expose", "a b", "127.0.0.1:80")).satisfies(r -> {
      assertThat(r.getKey()).isEqualTo(ExitCodes.USAGE);
      assertThat(r.getValue()).contains("service name 'a b'");
    });
    assertThat(inProcess("bob", "expose", "web", "8080")).satisfies(r -> {
      assertThat(r.getKey()).isEqualTo(ExitCodes.USAGE);
      assertThat(r.getValue()).contains("is not HOST:PORT");
    });
    assertThat(inProcess("gw", "gateway", "--ports", "9-1")).satisfies(r -> {
      assertThat(r.getKey()).isEqualTo(ExitCodes.USAGE);
      assertThat(r.getValue()).contains("--ports");
    });
    assertThat(inProcess("bob", "expose", "web", "127.0.0.1:80", "--allow", "example.com")).satisfies(r -> {
      assertThat(r.getKey()).isEqualTo(ExitCodes.USAGE);
      assertThat(r.getValue()).contains("write @example.com");
    });
  }

  @Test
  void httpResponsesArriveByteForByteIncludingA16MiBBodyAnd200ConcurrentRequests() throws Exception {
    Q2qProcess exposer = expose();
    assertThat(exposer.stdout().get(0)).contains("allowed: @localhost (your own domain, the default");
    int port = forward("alice", null);

    assertThat(TestHttpServer.get(port, "/small", false)).isEqualTo(TestHttpServer.response("/small"));
    byte[] big = TestHttpServer.get(port, "/big", false);
    assertThat(big.length).isEqualTo(TestHttpServer.response("/big").length);
    assertThat(big).isEqualTo(TestHttpServer.response("/big"));

    int n = 200;
    ExecutorService pool = Executors.newFixedThreadPool(n);
    try {
      CountDownLatch go = new CountDownLatch(1);
      List<Future<byte[]>> answers = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        answers.add(pool.submit(() -> {
          go.await();
          return TestHttpServer.get(port, "/small", false);
        }));
      }
      go.countDown();
      for (Future<byte[]> a : answers) {
        assertThat(a.get(120, TimeUnit.SECONDS)).isEqualTo(TestHttpServer.response("/small"));
      }
    } finally {
      pool.shutdownNow();
    }
    assertThat(http.requests.get()).isEqualTo(n + 2);
    // a line per connection on the exposing side: who, from where, bytes each way, duration
    String line = exposer.awaitLine("connection exp-", 10);
    assertThat(line).matches("connection exp-\\d+: alice@localhost (via relay:.*|from .*), .* sent, .* received in .*");
  }

  @Test
  void aHalfClosedRequestGetsTheWholeResponse() throws Exception {
    expose();
    int port = forward("alice", null);
    assertThat(TestHttpServer.get(port, "/small", true)).isEqualTo(TestHttpServer.response("/small"));
    assertThat(TestHttpServer.get(port, "/big", true)).isEqualTo(TestHttpServer.response("/big"));
  }

  @Test
  void theForwarderSurvivesATunnelTheExposingSideClosesAndARestartOfTheExposingSide() throws Exception {
    Q2qProcess exposer = expose();
    Q2qProcess[] fwd = new Q2qProcess[1];
    int port = forward("alice", fwd);
    assertThat(TestHttpServer.get(port, "/small", false)).isEqualTo(TestHttpServer.response("/small"));

    // the exposed server resets one connection: that one ends, the others go on
    try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
      s.setSoTimeout(30_000);
      s.getOutputStream().write("GET /reset HTTP/1.0\r\n\r\n".getBytes());
      try {
        assertThat(s.getInputStream().read()).isEqualTo(-1);
      } catch (java.net.SocketException expected) {
        // reset: also right
      }
    }
    assertThat(TestHttpServer.get(port, "/small", false)).isEqualTo(TestHttpServer.response("/small"));

    // the exposing side goes away: connections are closed with a reason, the forwarder keeps listening
    exposer.stop();
    assertThat(TestHttpServer.getOrClosed(port, "/small")).isEmpty();
    awaitStderr(fwd[0], "closed: ");
    assertThat(fwd[0].stderr()).containsPattern("q2q: connection fwd-\\d+ \\(bob@localhost from 127.0.0.1:\\d+\\) closed: ");

    // ... and works again once it is back, over a new peer session
    expose();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    byte[] got;
    do {
      got = TestHttpServer.getOrClosed(port, "/small");
    } while (got.length == 0 && System.nanoTime() < deadline);
    assertThat(got).isEqualTo(TestHttpServer.response("/small"));
    assertThat(TestHttpServer.get(port, "/big", false)).isEqualTo(TestHttpServer.response("/big"));
  }

  @Test
  void anAddressNotAllowedIsRefusedAndSeesWhy() throws Exception {
    Q2qProcess exposer = expose("--allow", "alice@localhost");
    assertThat(exposer.stdout().get(0)).contains("allowed: alice@localhost").doesNotContain("default");
    Q2qProcess[] fwd = new Q2qProcess[1];
    int port = forward("carol", fwd);
    assertThat(TestHttpServer.getOrClosed(port, "/small")).isEmpty();
    awaitStderr(fwd[0], "not allowed");
    assertThat(fwd[0].stderr()).contains("carol@localhost is not allowed to use bob@localhost/web");
    assertThat(exposer.stderr()).contains("refused carol@localhost");
    assertThat(http.requests.get()).isZero();
    // alice, who is allowed, gets through
    int alicePort = forward("alice", null);
    assertThat(TestHttpServer.get(alicePort, "/small", false)).isEqualTo(TestHttpServer.response("/small"));
  }

  @Test
  void aForwarderOpensItsPeerSessionAtStartOrSaysWhyNotAndKeepsListening() throws Exception {
    expose();
    Q2qProcess[] fwd = new Q2qProcess[1];
    int port = forward("alice", fwd);
    // the session is there before the first connection: that one does not wait for it
    assertThat(fwd[0].awaitLine("session to ", 60)).startsWith("session to bob@localhost open via ");
    assertThat(TestHttpServer.get(port, "/small", false)).isEqualTo(TestHttpServer.response("/small"));

    // nobody offers dave@localhost/web: said at start; the forwarder still listens and tries again
    // on each connection
    Q2qProcess nobody = q2q("alice", "forward", "0", "dave@localhost/web");
    Matcher m = LISTEN.matcher(nobody.awaitLine("ready:", 60));
    assertThat(m.find()).isTrue();
    awaitStderr(nobody, "cannot be reached now");
    assertThat(nobody.stderr()).contains("q2q: dave@localhost cannot be reached now (").contains("; each connection tries again");
    assertThat(nobody.stdout()).noneMatch(l -> l.startsWith("session to"));
    assertThat(TestHttpServer.getOrClosed(Integer.parseInt(m.group(1)), "/small")).isEmpty();
    awaitStderr(nobody, "closed: ");
    assertThat(nobody.stderr()).containsPattern("q2q: connection fwd-\\d+ \\(dave@localhost from 127.0.0.1:\\d+\\) closed: ");
    assertThat(nobody.isAlive()).isTrue();
  }

  /** Waits (with a deadline) until {@code p}'s stderr contains {@code text}; the caller then asserts on it. */
  private static void awaitStderr(Q2qProcess p, String text) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (!p.stderr().contains(text) && System.nanoTime() < deadline) {
      Thread.sleep(50); // polling a file with a deadline
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  @Test
  void reverseAGatewayOpensThePortCarriesConnectionsBackAndClosesItWhenTheCallerQuits() throws Exception {
    int port = freePort();
    Q2qProcess gw = q2q("gw", "gateway", "--ports", port + "-" + port, "--bind", "127.0.0.1");
    assertThat(gw.awaitLine("ready:", 60)).contains("opens ports " + port + "-" + port).contains("@localhost");
    Q2qProcess caller = q2q("alice", "forward", "--remote", String.valueOf(port), "gw@localhost",
        "127.0.0.1:" + http.port());
    assertThat(caller.awaitLine("ready:", 60)).contains("gw@localhost listens on 127.0.0.1:" + port);
    assertThat(gw.awaitLine("opened ", 10)).contains("for alice@localhost");

    assertThat(TestHttpServer.get(port, "/small", false)).isEqualTo(TestHttpServer.response("/small"));
    assertThat(TestHttpServer.get(port, "/big", true)).isEqualTo(TestHttpServer.response("/big"));
    assertThat(caller.awaitLine("connection rev-", 10)).contains("gw@localhost from 127.0.0.1:");

    caller.stop();
    assertThat(gw.awaitLine("closed 127.0.0.1:" + port, 60)).contains("alice@localhost");
    try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
      throw new AssertionError("the port is still open");
    } catch (java.net.ConnectException expected) {
      // closed
    }
  }

  @Test
  void reverseATunnelLostAfterItWorkedIsReopenedWhenTheGatewayIsBack() throws Exception {
    int port = freePort();
    String[] gwArgs = {"gateway", "--ports", port + "-" + port, "--bind", "127.0.0.1"};
    Q2qProcess gw = q2q("gw", gwArgs);
    gw.awaitLine("ready:", 60);
    Q2qProcess caller = q2q("alice", "forward", "--remote", String.valueOf(port), "gw@localhost",
        "127.0.0.1:" + http.port());
    caller.awaitLine("ready:", 60);
    assertThat(TestHttpServer.get(port, "/small", false)).isEqualTo(TestHttpServer.response("/small"));

    gw.stop();
    Q2qProcess again = q2q("gw", gwArgs);
    again.awaitLine("ready:", 60);
    assertThat(caller.awaitLine("reopened:", 90)).contains("127.0.0.1:" + port);
    assertThat(caller.stderr()).contains("the tunnel ended").contains("reopening");
    assertThat(TestHttpServer.get(port, "/small", false)).isEqualTo(TestHttpServer.response("/small"));
  }

  @Test
  void reverseAPortOutsideTheRangeIsRefusedWithAMessage() throws Exception {
    int port = freePort();
    Q2qProcess gw = q2q("gw", "gateway", "--ports", port + "-" + port, "--bind", "127.0.0.1");
    gw.awaitLine("ready:", 60);
    int outside = port == 65535 ? port - 1 : port + 1;
    Q2qProcess caller = q2q("alice", "forward", "--remote", String.valueOf(outside), "gw@localhost",
        "127.0.0.1:" + http.port());
    assertThat(caller.awaitExit(60)).isEqualTo(ExitCodes.REFUSED);
    assertThat(caller.stderr()).contains("gw@localhost refused: port " + outside + " is outside the ports this gateway"
        + " opens (" + port + "-" + port + ")").doesNotContain("Exception");
  }

  @Test
  void reverseACallerTheGatewayDoesNotAllowIsRefused() throws Exception {
    int port = freePort();
    Q2qProcess gw = q2q("gw", "gateway", "--ports", port + "-" + port, "--bind", "127.0.0.1",
        "--allow", "alice@localhost");
    gw.awaitLine("ready:", 60);
    Q2qProcess caller = q2q("carol", "forward", "--remote", String.valueOf(port), "gw@localhost",
        "127.0.0.1:" + http.port());
    assertThat(caller.awaitExit(60)).isEqualTo(ExitCodes.REFUSED);
    assertThat(caller.stderr()).contains("carol@localhost is not allowed").doesNotContain("Exception");
  }
}
