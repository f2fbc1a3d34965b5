package org.q2q.client;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import java.util.function.UnaryOperator;
import java.util.stream.Collectors;
import org.q2q.certstore.Address;
import org.q2q.certstore.ClientHome;
import org.q2q.certstore.Identity;
import org.q2q.server.LoopbackServer;
import org.q2q.server.presence.PresenceConfig;

/**
 * Test fixture: real presence servers on 127.0.0.1 (TLS, ephemeral ports, federation between
 * them) and clients with their own homes (identity issued by the server's CA, CA pinned, server
 * remembered), closed together.
 */
final class TestNet implements AutoCloseable {
  private final Path dir;
  private final Map<String, Integer> ports = new ConcurrentHashMap<>();
  private final List<LoopbackServer> servers = new ArrayList<>();
  private final List<Q2qClient> clients = new ArrayList<>();
  private int homes;
  private boolean relayOnly;
  private boolean noPtcp;

  TestNet(Path dir) {
    this.dir = dir;
  }

  /** Clients made from now on accept no direct connections (TCP or PTCP): every session takes the relay. */
  TestNet relayOnly() {
    relayOnly = true;
    return this;
  }

  /** Clients made from now on open no UDP socket (no PTCP): TCP and the relay only. */
  TestNet noPtcp() {
    noPtcp = true;
    return this;
  }

  /** A server for {@code domain} with the Presence service (federating with the other servers). */
  LoopbackServer server(String domain) throws IOException {
    return server(domain, c -> c, b -> {});
  }

  /** A server for {@code domain}, with its Presence config and builder adjusted. */
  LoopbackServer server(String domain, UnaryOperator<PresenceConfig> config,
      Consumer<org.q2q.server.PresenceServer.Builder> more) throws IOException {
    PresenceConfig cfg = config.apply(PresenceConfig.defaults()
        .withFederation(d -> InetSocketAddress.createUnresolved("127.0.0.1", ports.getOrDefault(d, 1))));
    LoopbackServer s = LoopbackServer.start(domain, b -> {
      b.presence(cfg);
      more.accept(b);
    });
    ports.put(domain, s.port());
    servers.add(s);
    return s;
  }

  /**
   * Another node of {@code first}'s domain: a server on a copy of its data folder (the same CA; no
   * shared database, so no node directory: each node knows only its own listeners), federating
   * like the others, with {@code more} applied to its builder.
   */
  LoopbackServer anotherNode(LoopbackServer first, Consumer<org.q2q.server.PresenceServer.Builder> more)
      throws IOException {
    PresenceConfig cfg = PresenceConfig.defaults()
        .withFederation(d -> InetSocketAddress.createUnresolved("127.0.0.1", ports.getOrDefault(d, 1)));
    LoopbackServer s = LoopbackServer.startNodeOf(first, b -> {
      b.presence(cfg);
      more.accept(b);
    });
    servers.add(s);
    return s;
  }

  /** Notes a server's new port after a restart. */
  void restarted(String domain, LoopbackServer s) {
    ports.put(domain, s.port());
  }

  /** Q2Q_SERVERS naming every server. */
  Map<String, String> env() {
    return Map.of("Q2Q_SERVERS", ports.entrySet().stream()
        .map(e -> e.getKey() + "=127.0.0.1:" + e.getValue()).collect(Collectors.joining(",")));
  }

  /** A client home for {@code address} issued by {@code s}'s CA. */
  ClientHome home(LoopbackServer s, String address) throws Exception {
    ClientHome home = new ClientHome(dir.resolve("home-" + (++homes)));
    Identity id = s.issueIdentity(address);
    home.save(id);
    home.pins().verifyOrPin(s.server().domain().domain(), s.server().ca().certificate(), null);
    home.saveServer(id.address(), s.hostPort());
    return home;
  }

  /** A client builder for {@code address} at {@code s}, with short test timings. */
  Q2qClient.Builder builder(LoopbackServer s, String address) throws Exception {
    return Q2qClient.builder(home(s, address), Address.parse(address))
        .environment(env())
        .presenceHeartbeat(Duration.ofMillis(500), Duration.ofSeconds(3))
        .reconnectBackoff(Duration.ofMillis(100), Duration.ofMillis(500))
        .connectTimeout(Duration.ofSeconds(20))
        .directTcp(!relayOnly)
        .ptcp(!relayOnly && !noPtcp);
  }

  /** A started client for {@code address} at {@code s}. */
  Q2qClient client(LoopbackServer s, String address) throws Exception {
    return track(builder(s, address).build());
  }

  Q2qClient track(Q2qClient c) {
    clients.add(c);
    return c;
  }

  @Override
  public void close() {
    clients.forEach(Q2qClient::close);
    servers.forEach(LoopbackServer::close);
  }

  // --- helpers for the tests ---

  /** Polls {@code condition} until true or {@code timeout}. */
  static void await(BooleanSupplier condition, Duration timeout, String what) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out waiting for " + what);
      }
      Thread.sleep(20); // polling with a deadline, not synchronisation by sleeping
    }
  }

  /** Echo: copies the channel's input to its output, then ends the output. */
  static void echo(VirtualChannel ch) throws IOException {
    try (InputStream in = ch.inputStream(); OutputStream out = ch.outputStream()) {
      in.transferTo(out);
    }
  }

  /** Reads everything and answers with its SHA-256 and length (40 bytes). */
  static void digest(VirtualChannel ch) throws Exception {
    MessageDigest sha = MessageDigest.getInstance("SHA-256");
    long n = 0;
    byte[] buf = new byte[64 * 1024];
    InputStream in = ch.inputStream();
    for (int r; (r = in.read(buf)) >= 0; ) {
      sha.update(buf, 0, r);
      n += r;
    }
    OutputStream out = ch.outputStream();
    out.write(sha.digest());
    out.write(java.nio.ByteBuffer.allocate(8).putLong(n).array());
    out.close();
  }

  /**
   * Writes {@code size} random bytes (seeded) to {@code ch} in writes of {@code writeSize}, ends its
   * output, reads everything the echo service sends back and asserts it is the same bytes, counted
   * and hashed (SHA-256).
   */
  static void assertEchoedIntact(VirtualChannel ch, int size, long seed, int writeSize) throws Exception {
    MessageDigest sent = MessageDigest.getInstance("SHA-256");
    java.util.concurrent.CompletableFuture<Void> writer = java.util.concurrent.CompletableFuture.runAsync(() -> {
      try (OutputStream out = ch.outputStream()) {
        java.util.SplittableRandom r = new java.util.SplittableRandom(seed);
        byte[] buf = new byte[writeSize];
        for (int left = size; left > 0; ) {
          int n = Math.min(left, buf.length);
          r.nextBytes(buf);
          sent.update(buf, 0, n);
          out.write(buf, 0, n);
          left -= n;
        }
      } catch (Exception e) {
        throw new java.util.concurrent.CompletionException(e);
      }
    });
    MessageDigest got = MessageDigest.getInstance("SHA-256");
    long received = 0;
    byte[] buf = new byte[65536];
    InputStream in = ch.inputStream();
    for (int n; (n = in.read(buf)) >= 0; ) {
      got.update(buf, 0, n);
      received += n;
    }
    writer.get(60, java.util.concurrent.TimeUnit.SECONDS);
    org.assertj.core.api.Assertions.assertThat(received).isEqualTo(size);
    org.assertj.core.api.Assertions.assertThat(got.digest()).isEqualTo(sent.digest());
  }

  /** Deterministic pseudo-random bytes. */
  static byte[] bytes(int n, long seed) {
    byte[] b = new byte[n];
    new java.util.SplittableRandom(seed).nextBytes(b);
    return b;
  }

  static Path tempFile(Path dir, String name, byte[] content) throws IOException {
    Path p = dir.resolve(name);
    Files.write(p, content);
    return p;
  }
}
