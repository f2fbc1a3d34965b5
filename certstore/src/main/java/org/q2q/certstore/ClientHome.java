package org.q2q.certstore;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A client's home folder ({@code $Q2Q_HOME}, default {@code ~/.q2q}), not readable by others:
 *
 * <pre>
 * identities/&lt;address&gt;/key.pem    private key (0600)
 * identities/&lt;address&gt;/chain.pem  certificate chain, leaf first
 * identities/&lt;address&gt;/server     the presence server used for it ("host:port")
 * known_cas/&lt;domain&gt;.crt           pinned domain CAs (trust on first use)
 * </pre>
 *
 * Safe for concurrent use within one process.
 */
public final class ClientHome {
  private final Path root;
  private final CaPinStore pins;

  /** A home at {@code root}. */
  public ClientHome(Path root) {
    this.root = root.toAbsolutePath();
    this.pins = new CaPinStore(this.root.resolve("known_cas"));
  }

  /**
   * The home named by {@code Q2Q_HOME} in {@code env}, else {@code $HOME/.q2q}. {@code HOME} is read
   * from {@code env} because Java's {@code user.home} comes from the password database and ignores
   * a changed {@code HOME}, unlike every other command-line tool.
   */
  public static ClientHome fromEnvironment(Map<String, String> env) {
    String h = env.get("Q2Q_HOME");
    if (h != null && !h.isBlank()) {
      return new ClientHome(Path.of(h));
    }
    String home = env.get("HOME");
    if (home == null || home.isBlank()) {
      home = System.getProperty("user.home");
    }
    return new ClientHome(Path.of(home, ".q2q"));
  }

  /** The folder. */
  public Path root() {
    return root;
  }

  /** The pinned domain CAs. */
  public CaPinStore pins() {
    return pins;
  }

  private Path identityDir(Address address) {
    return root.resolve("identities").resolve(address.toString());
  }

  /** Stores an identity (key 0600, folders 0700), replacing any earlier one for the address. */
  public synchronized void save(Identity identity) throws IOException {
    Path dir = SecureFiles.createPrivateDirectories(identityDir(identity.address()));
    SecureFiles.writeSecret(dir.resolve("key.pem"), Certificates.toPem(identity.privateKey()));
    SecureFiles.writePublic(dir.resolve("chain.pem"), Certificates.toPem(identity.chain()));
  }

  /** Loads the identity for {@code address}, if stored. */
  public synchronized Optional<Identity> load(Address address) throws IOException {
    Path dir = identityDir(address);
    if (!Files.exists(dir.resolve("key.pem")) || !Files.exists(dir.resolve("chain.pem"))) {
      return Optional.empty();
    }
    List<X509Certificate> chain = Certificates.readPem(dir.resolve("chain.pem"));
    KeyPair kp = Certificates.readPrivateKey(dir.resolve("key.pem"), chain.get(0).getPublicKey());
    return Optional.of(new Identity(address, kp.getPrivate(), chain));
  }

  /** Every stored identity's address, sorted. */
  public synchronized List<Address> addresses() throws IOException {
    Path ids = root.resolve("identities");
    List<Address> out = new ArrayList<>();
    if (!Files.isDirectory(ids)) {
      return out;
    }
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(ids)) {
      for (Path p : ds) {
        try {
          Address a = Address.parse(p.getFileName().toString());
          if (Files.exists(p.resolve("chain.pem"))) {
            out.add(a);
          }
        } catch (IllegalArgumentException ignored) {
          // not an identity folder
        }
      }
    }
    out.sort(null);
    return out;
  }

  /** Remembers the presence server ("host:port") used for {@code address}. */
  public synchronized void saveServer(Address address, String hostPort) throws IOException {
    SecureFiles.writePublic(
        SecureFiles.createPrivateDirectories(identityDir(address)).resolve("server"), hostPort + "\n");
  }

  /** The remembered presence server for {@code address}. */
  public synchronized Optional<String> server(Address address) throws IOException {
    Path f = identityDir(address).resolve("server");
    return Files.exists(f)
        ? Optional.of(Files.readString(f, StandardCharsets.UTF_8).trim()).filter(s -> !s.isEmpty())
        : Optional.empty();
  }
}
