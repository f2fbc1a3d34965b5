package org.q2q.server;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.q2q.certstore.Address;
import org.q2q.certstore.CertificateRequestException;
import org.q2q.certstore.Identity;

/**
 * Test fixture: a real presence server on 127.0.0.1 with an ephemeral port and a temporary data
 * folder, deleted on {@link #close()}. Published in the presence-server test-jar for the tests of
 * q2q-client and tools.
 *
 * <pre>
 * try (LoopbackServer s = LoopbackServer.start()) {            // domain "localhost", open registration
 *   String server = s.hostPort();                               // "127.0.0.1:41234"
 *   Identity alice = s.issueIdentity("alice@localhost");        // key + chain, no Sign round trip
 * }
 * LoopbackServer.start("example.com", b -> b.registration(RegistrationMode.CLOSED)
 *                                           .addService(server -> new MyService(server)));
 * </pre>
 */
public final class LoopbackServer implements AutoCloseable {
  private final Path dataDir;
  private final Consumer<PresenceServer.Builder> customize;
  private final String domain;
  private PresenceServer server;

  private LoopbackServer(String domain, Path dataDir, Consumer<PresenceServer.Builder> customize) {
    this.domain = domain;
    this.dataDir = dataDir;
    this.customize = customize;
  }

  /** A server for {@code localhost} with the default settings. */
  public static LoopbackServer start() throws IOException {
    return start("localhost", b -> {});
  }

  /**
   * A server for {@code domain}; {@code customize} may change any builder setting (it runs after
   * the fixture's domain, data folder, 127.0.0.1:0, a 1 s shutdown grace and no per-network
   * registration rates are set).
   */
  public static LoopbackServer start(String domain, Consumer<PresenceServer.Builder> customize)
      throws IOException {
    LoopbackServer s = new LoopbackServer(domain, Files.createTempDirectory("q2q-server-"), customize);
    try {
      s.server = s.newServer().start();
    } catch (IOException | RuntimeException e) {
      s.deleteDataDir();
      throw e;
    }
    return s;
  }

  /**
   * Another node of {@code first}'s domain: a fresh data folder holding a copy of its CA files
   * ({@code ca.crt}, {@code ca.key}), as an administrator gives every node; {@code customize}
   * should point it at the same database ({@link PresenceServer.Builder#database}) or fleet.
   */
  public static LoopbackServer startNodeOf(LoopbackServer first, Consumer<PresenceServer.Builder> customize)
      throws IOException {
    Path dir = Files.createTempDirectory("q2q-server-");
    LoopbackServer s = new LoopbackServer(first.domain, dir, customize);
    try {
      for (String f : new String[] {"ca.crt", "ca.key"}) {
        Files.copy(first.dataDir.resolve(f), dir.resolve(f), java.nio.file.StandardCopyOption.COPY_ATTRIBUTES);
      }
      s.server = s.newServer().start();
    } catch (IOException | RuntimeException e) {
      s.deleteDataDir();
      throw e;
    }
    return s;
  }

  private PresenceServer newServer() {
    PresenceServer.Builder b =
        PresenceServer.builder()
            .domain(domain)
            .dataDir(dataDir)
            .port(0)
            .bindHost("127.0.0.1")
            .shutdownGrace(Duration.ofSeconds(1))
            // tests register many accounts from 127.0.0.1; the abuse tests set the real rates
            .registrationLimits(RegistrationLimits.defaults().withRates(1_000_000, 1e9, 1_000_000, 1e9));
    customize.accept(b);
    return b.build();
  }

  /**
   * Stops this server and starts a new instance on the same data folder (same CA and accounts;
   * the port changes unless the builder fixed one).
   */
  public PresenceServer restart() throws IOException {
    server.close();
    server = newServer().start();
    return server;
  }

  /** The running server. */
  public PresenceServer server() {
    return server;
  }

  /** Its port. */
  public int port() {
    return server.port();
  }

  /** {@code 127.0.0.1:port}, as for {@code --server}. */
  public String hostPort() {
    return "127.0.0.1:" + server.port();
  }

  /** The data folder (deleted on close). */
  public Path dataDir() {
    return dataDir;
  }

  /** An identity for {@code address} issued directly by the server's CA (no account needed). */
  public Identity issueIdentity(String address) {
    try {
      return server.ca().issueIdentity(Address.parse(address), Duration.ofDays(1));
    } catch (CertificateRequestException e) {
      throw new IllegalArgumentException(e.getMessage(), e);
    }
  }

  @Override
  public void close() {
    try {
      if (server != null) {
        server.close();
      }
    } finally {
      deleteDataDir();
    }
  }

  private void deleteDataDir() {
    try (Stream<Path> files = Files.walk(dataDir)) {
      files.sorted(Comparator.reverseOrder()).forEach(p -> {
        try {
          Files.deleteIfExists(p);
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      });
    } catch (IOException | UncheckedIOException e) {
      // best effort: a temp folder left behind is not worth failing a test for
    }
  }
}
