package org.q2q.server.presence;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.q2q.certstore.Address;
import org.q2q.certstore.CertificationRequest;
import org.q2q.certstore.Identity;
import org.q2q.certstore.KeyPairs;
import org.q2q.certstore.PasswordHasher;
import org.q2q.proto.InboundRequest;
import org.q2q.proto.ListenDown;
import org.q2q.proto.PresenceGrpc;
import org.q2q.proto.RegistrationGrpc;
import org.q2q.proto.RelayRole;
import org.q2q.proto.SignRequest;
import org.q2q.server.LoopbackServer;

/**
 * The metrics endpoint of a real server, fetched over real HTTP (the JDK's client, and curl as an
 * outside client) while real clients register, listen, call Inbound and relay over TLS.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class MetricsEndpointTest {
  private static final PasswordHasher FAST = new PasswordHasher(64, 1, 1);
  private final TlsChannels channels = new TlsChannels();
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private LoopbackServer server;

  @AfterEach
  void stop() throws Exception {
    channels.close();
    if (server != null) {
      server.close();
    }
  }

  private String scrape() throws Exception {
    HttpResponse<String> r = http.send(HttpRequest.newBuilder(metricsUri()).timeout(Duration.ofSeconds(10)).build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.headers().firstValue("Content-Type").orElse("")).startsWith("text/plain");
    return r.body();
  }

  /** {@code q2q_nodes_live} as scraped now (polled by Await, hence unchecked). */
  private double liveNodes() {
    try {
      return value(scrape(), "q2q_nodes_live", "");
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  private URI metricsUri() {
    return URI.create("http://127.0.0.1:" + server.server().metricsPort() + "/metrics");
  }

  /** The value of the series {@code name} with exactly {@code labels} ("k=v,k=v", "" for none); NaN if absent. */
  static double value(String text, String name, String labels) {
    Map<String, String> want = new TreeMap<>();
    for (String kv : labels.isEmpty() ? new String[0] : labels.split(",")) {
      String[] p = kv.split("=", 2);
      want.put(p[0], p[1]);
    }
    Pattern line = Pattern.compile("^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\\{(.*)\\})? (\\S+)$", Pattern.MULTILINE);
    Pattern label = Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)=\"((?:[^\"\\\\]|\\\\.)*)\"");
    Matcher m = line.matcher(text);
    while (m.find()) {
      if (!m.group(1).equals(name)) {
        continue;
      }
      Map<String, String> got = new TreeMap<>();
      if (m.group(2) != null) {
        Matcher l = label.matcher(m.group(2));
        while (l.find()) {
          got.put(l.group(1), l.group(2));
        }
      }
      if (got.equals(want)) {
        return Double.parseDouble(m.group(3));
      }
    }
    return Double.NaN;
  }

  private void register(String address, String password) throws Exception {
    ManagedChannel ch = channels.open(server.server(), null);
    RegistrationGrpc.newBlockingStub(ch).withDeadlineAfter(30, TimeUnit.SECONDS)
        .sign(SignRequest.newBuilder()
            .setCertificationRequest(ByteString.copyFrom(
                CertificationRequest.create(KeyPairs.generate(), Address.parse(address))))
            .setPassword(password)
            .build());
  }

  private String inbound(Identity from, String to) throws Exception {
    return PresenceGrpc.newBlockingStub(channels.open(server.server(), from))
        .withDeadlineAfter(20, TimeUnit.SECONDS)
        .inbound(InboundRequest.newBuilder().setTo(to).setService("file").build())
        .getListeners(0).getId();
  }

  @Test
  void countersMoveWithRegistrationsListenersInboundsAndBothRelays() throws Exception {
    server = LoopbackServer.start("example.com", b -> b.passwordHasher(FAST).metrics("127.0.0.1", 0)
        .presence(PresenceConfig.defaults().withFederation(null).withInboundAnswerTimeout(Duration.ofMillis(500))));
    assertThat(server.server().metricsPort()).isPositive();
    String start = scrape();
    assertThat(value(start, "q2q_nodes_live", "")).isEqualTo(1);
    assertThat(value(start, "q2q_server_info",
        "domain=example.com,ca_fingerprint=" + server.server().ca().fingerprint())).isEqualTo(1);
    assertThat(value(start, "q2q_listen_sessions", "")).isZero();
    assertThat(value(start, "q2q_registrations_total", "result=ok")).isZero();
    assertThat(value(start, "jvm_threads_current", "")).as("JVM metrics").isPositive();

    // registrations: a new account, and a wrong password
    register("alice@example.com", "secret");
    assertThatThrownBy(() -> register("alice@example.com", "wrong")).isInstanceOf(StatusRuntimeException.class);
    String registered = scrape();
    assertThat(value(registered, "q2q_registrations_total", "result=ok")).isEqualTo(1);
    assertThat(value(registered, "q2q_registrations_total", "result=denied")).isEqualTo(1);
    assertThat(value(registered, "q2q_accounts_created_total", "")).isEqualTo(1);

    // a listener, and Inbound calls: answered, for nobody, and unanswered
    Identity alice = server.issueIdentity("alice@example.com");
    Identity bob = server.issueIdentity("bob@example.com");
    TestListener bobListening = new TestListener(PresenceGrpc.newStub(channels.open(server.server(), bob)));
    bobListening.offer("file");
    String rpcId = inbound(alice, "bob@example.com");
    assertThatThrownBy(() -> inbound(alice, "carol@example.com")).isInstanceOf(StatusRuntimeException.class);
    TestListener silent = new TestListener(PresenceGrpc.newStub(channels.open(server.server(),
        server.issueIdentity("dave@example.com"))));
    silent.policy = q -> null;
    silent.offer("file", "chat");
    assertThatThrownBy(() -> inbound(alice, "dave@example.com")).isInstanceOf(StatusRuntimeException.class);
    String asked = scrape();
    assertThat(value(asked, "q2q_listen_sessions", "")).isEqualTo(2);
    assertThat(value(asked, "q2q_listen_services", "")).isEqualTo(3);
    assertThat(value(asked, "q2q_inbound_calls_total", "result=ok")).isEqualTo(1);
    assertThat(value(asked, "q2q_inbound_calls_total", "result=not_found")).isEqualTo(1);
    assertThat(value(asked, "q2q_inbound_calls_total", "result=timeout")).isEqualTo(1);
    assertThat(value(asked, "q2q_inbound_duration_seconds_count", "result=ok")).isEqualTo(1);
    assertThat(value(asked, "q2q_inbound_duration_seconds_bucket", "result=timeout,le=0.25")).isZero();
    assertThat(value(asked, "q2q_inbound_duration_seconds_bucket", "result=timeout,le=1.0")).isEqualTo(1);

    // a relay through the Relay RPC: 100,000 bytes toward bob, 5,000 back
    RelayPeer connector = RelayPeer.open(PresenceGrpc.newStub(channels.open(server.server(), alice)), rpcId,
        RelayRole.RELAY_ROLE_CONNECTOR);
    assertThat(bobListening.next(ListenDown.KindCase.RELAY_OPEN).getRelayOpen().getListenerId()).isEqualTo(rpcId);
    RelayPeer accepted = RelayPeer.open(PresenceGrpc.newStub(channels.open(server.server(), bob)), rpcId,
        RelayRole.RELAY_ROLE_LISTENER);
    connector.awaitSpliced();
    accepted.awaitSpliced();
    assertThat(value(scrape(), "q2q_relay_pairs_active", "transport=rpc")).isEqualTo(1);
    connector.send(new byte[60_000]);
    connector.send(new byte[40_000]);
    accepted.send(new byte[5_000]);
    Await.until(Duration.ofSeconds(20), "bytes delivered",
        () -> accepted.receivedBytes.get() == 100_000 && connector.receivedBytes.get() == 5_000);
    connector.halfClose();
    assertThat(accepted.awaitClosed().isOk()).isTrue();
    assertThat(connector.awaitClosed().isOk()).isTrue();

    // a relay through the relay socket: 70,000 bytes toward bob, 3,000 back
    String socketId = inbound(alice, "bob@example.com");
    CompletableFuture<SocketRelayPeer> c = CompletableFuture.supplyAsync(() -> {
      try {
        return SocketRelayPeer.open(server.server(), alice, socketId, RelayRole.RELAY_ROLE_CONNECTOR, 0);
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    });
    assertThat(bobListening.next(ListenDown.KindCase.RELAY_OPEN).getRelayOpen().getListenerId()).isEqualTo(socketId);
    try (SocketRelayPeer l = SocketRelayPeer.open(server.server(), bob, socketId, RelayRole.RELAY_ROLE_LISTENER, 0);
        SocketRelayPeer cs = c.get(20, TimeUnit.SECONDS)) {
      l.raw.setSoTimeout(20_000);
      cs.raw.setSoTimeout(20_000);
      cs.out().write(new byte[70_000]);
      cs.out().flush();
      l.out().write(new byte[3_000]);
      l.out().flush();
      readFully(l.in(), 70_000);
      readFully(cs.in(), 3_000);
    }
    Await.until(Duration.ofSeconds(20), "relays over",
        () -> server.server().presence().relayStats().activeStreams() == 0);

    String relayed = scrape();
    assertThat(value(relayed, "q2q_relay_pairs_total", "transport=rpc")).isEqualTo(1);
    assertThat(value(relayed, "q2q_relay_pairs_total", "transport=socket")).isEqualTo(1);
    assertThat(value(relayed, "q2q_relay_pairs_active", "transport=rpc")).isZero();
    assertThat(value(relayed, "q2q_relay_pairs_active", "transport=socket")).isZero();
    assertThat(value(relayed, "q2q_relay_bytes_total", "transport=rpc,direction=to_listener")).isEqualTo(100_000);
    assertThat(value(relayed, "q2q_relay_bytes_total", "transport=rpc,direction=to_connector")).isEqualTo(5_000);
    assertThat(value(relayed, "q2q_relay_bytes_total", "transport=socket,direction=to_listener")).isEqualTo(70_000);
    assertThat(value(relayed, "q2q_relay_bytes_total", "transport=socket,direction=to_connector")).isEqualTo(3_000);
    assertThat(value(relayed, "q2q_inbound_calls_total", "result=ok")).isEqualTo(2);

    // the hook the node directory will call
    server.server().metrics().setLiveNodes(3);
    assertThat(value(scrape(), "q2q_nodes_live", "")).isEqualTo(3);
  }

  @Test
  void refusalsAreCountedByTheLimitReached() throws Exception {
    server = LoopbackServer.start("example.com", b -> b.metrics("127.0.0.1", 0)
        .listenLimits(ListenLimits.defaults().withSessions(1, 100)));
    Identity bob = server.issueIdentity("bob@example.com");
    new TestListener(PresenceGrpc.newStub(channels.open(server.server(), bob))).offer("file");
    TestListener second = new TestListener(PresenceGrpc.newStub(channels.open(server.server(), bob)));
    assertThat(second.awaitClosed().getCode()).isEqualTo(io.grpc.Status.Code.RESOURCE_EXHAUSTED);
    String text = scrape();
    assertThat(value(text, "q2q_refusals_total", "reason=listen_sessions_per_address")).isEqualTo(1);
    assertThat(value(text, "q2q_refusals_total", "reason=listen_sessions_total")).isZero();
    assertThat(value(text, "q2q_refusals_total", "reason=connections_per_network")).isZero();
  }

  @Test
  void nodesLiveFollowsTheFleetsNodeDirectory() throws Exception {
    try (org.q2q.server.PostgresTestDatabase db = org.q2q.server.PostgresTestDatabase.create()) {
      Duration deadAfter = Duration.ofSeconds(1);
      server = LoopbackServer.start("localhost", b -> b.metrics("127.0.0.1", 0)
          .database(db.location()).advertise("127.0.0.1").fleetTiming(Duration.ofMillis(200), deadAfter));
      assertThat(liveNodes()).isEqualTo(1);
      try (LoopbackServer other = LoopbackServer.startNodeOf(server, b -> b
          .database(db.location()).advertise("127.0.0.1").fleetTiming(Duration.ofMillis(200), deadAfter))) {
        Await.until(Duration.ofSeconds(10), "two live nodes", () -> liveNodes() == 2);
      }
      Await.until(Duration.ofSeconds(10), "one live node again", () -> liveNodes() == 1);
      server.close();
      server = null;
    }
  }

  @Test
  void curlReadsTheEndpointAsAnyScraperWould() throws Exception {
    Path curl = onPath("curl");
    org.junit.jupiter.api.Assumptions.assumeTrue(curl != null, "curl is not installed");
    server = LoopbackServer.start("example.com", b -> b.metrics("127.0.0.1", 0));
    Process p = new ProcessBuilder(curl.toString(), "-sS", "--max-time", "10", "-i", metricsUri().toString())
        .redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(20, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as(out).isZero();
    assertThat(out).startsWith("HTTP/1.1 200").contains("text/plain; version=0.0.4")
        .contains("# TYPE q2q_relay_bytes_total counter")
        .contains("# TYPE q2q_inbound_duration_seconds histogram")
        .contains("q2q_nodes_live 1");
  }

  @Test
  void thereIsNoEndpointUnlessAskedForAndItClosesWithTheServer() throws Exception {
    server = LoopbackServer.start("example.com", b -> {});
    assertThat(server.server().metricsPort()).isZero();
    server.close();

    int port;
    try (ServerSocket free = new ServerSocket(0)) {
      port = free.getLocalPort();
    }
    server = LoopbackServer.start("example.com", b -> b.metrics("127.0.0.1", port));
    assertThat(server.server().metricsPort()).isEqualTo(port);
    assertThat(value(scrape(), "q2q_nodes_live", "")).isEqualTo(1);
    server.server().close();
    assertThatThrownBy(() -> http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics"))
        .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString()))
        .isInstanceOf(ConnectException.class);
  }

  private static void readFully(InputStream in, int n) throws IOException {
    byte[] buf = new byte[8192];
    for (int got = 0; got < n; ) {
      int r = in.read(buf, 0, Math.min(buf.length, n - got));
      if (r < 0) {
        throw new IOException("end of stream after " + got + " of " + n + " bytes");
      }
      got += r;
    }
  }

  private static Path onPath(String program) {
    for (String dir : System.getenv().getOrDefault("PATH", "").split(java.io.File.pathSeparator)) {
      Path p = Path.of(dir, program);
      if (Files.isExecutable(p)) {
        return p;
      }
    }
    return null;
  }
}
