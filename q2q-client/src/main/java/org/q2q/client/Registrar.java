package org.q2q.client;

import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import org.q2q.certstore.Address;
import org.q2q.certstore.CaMismatchException;
import org.q2q.certstore.ChainValidator;
import org.q2q.certstore.ClientHome;
import org.q2q.certstore.Fingerprint;
import org.q2q.certstore.ServerChainCapture;
import org.q2q.certstore.Identity;
import org.q2q.client.Q2qException.Reason;
import org.q2q.client.internal.grpc.PresenceChannels;
import org.q2q.client.internal.grpc.ServerNodes;
import org.q2q.client.internal.registration.RegistrationCalls;
import org.q2q.proto.IdentifyResponse;

/**
 * The client side of registration: learn and pin a domain's CA (Identify), get a certificate for
 * an address with its password (Sign), ask the server how it sees us (WhoAmI).
 *
 * <p>{@link #register}, step by step:
 *
 * <ol>
 *   <li>connect over TLS accepting any server certificate but keeping it, and ask Identify for the
 *       domain's CA;
 *   <li>check that this CA names the domain and issued the server's TLS certificate for the
 *       domain, then pin it in the home (trust on first use, or the fingerprint the user gave); a
 *       different pinned CA is a hard error naming both fingerprints;
 *   <li>over a new connection that trusts only the pinned CA, make a key pair (the private key
 *       never leaves this machine), send a CSR and the password (Sign);
 *   <li>validate the returned chain against the pinned CA, check it certifies the address and our
 *       key, store the identity (key 0600) and remember the server for it.
 * </ol>
 *
 * Safe for concurrent use.
 */
public final class Registrar {
  /** Deadline of Identify and WhoAmI. */
  private static final Duration SHORT_CALL = Duration.ofSeconds(20);
  /** Deadline of Sign (the server runs a memory-hard password hash). */
  private static final Duration SIGN_CALL = Duration.ofSeconds(60);

  private final Clock clock;

  /** A registrar on the system clock. */
  public Registrar() {
    this(Clock.systemUTC());
  }

  /** A registrar validating certificates at {@code clock}'s time. */
  public Registrar(Clock clock) {
    this.clock = Objects.requireNonNull(clock, "clock");
  }

  /**
   * What {@link #register} did.
   *
   * @param revoked how many other certificates of the address the server revoked (this machine's
   *     earlier certificate, which the new one replaces, and with {@link Options#revokeOthers} every
   *     other device's)
   */
  public record Registration(
      Identity identity, Fingerprint caFingerprint, boolean newlyPinned, Path storedAt, ServerAddress server,
      int revoked) {}

  /**
   * Choices of a registration beyond the password.
   *
   * @param revokeOthers revoke every other certificate of the address ("revoke my other devices",
   *     after a lost laptop or a leaked password)
   * @param newPassword the account's new password, or null to keep it
   * @param newKey make a new key pair even if an identity for the address is stored (its key may
   *     have been copied); false keeps the stored key (a renewal)
   */
  public record Options(boolean revokeOthers, String newPassword, boolean newKey) {
    /** A plain registration. */
    public static final Options DEFAULT = new Options(false, null, false);
  }

  /** Whether a domain's CA is pinned in the home, and how it compares. */
  public enum PinStatus {
    /** No CA is pinned for the domain. */
    NOT_PINNED,
    /** The pinned CA is the one the server presented. */
    MATCHES,
    /** A different CA is pinned: the server's CA changed, or this is not the real server. */
    DIFFERS
  }

  /** What {@link #identify} learned. */
  public record Identification(
      Address domain, X509Certificate ca, Fingerprint fingerprint, PinStatus pin, Fingerprint pinned) {}

  /**
   * Registers (or re-registers) {@code address} with its password at {@code server}, and stores
   * the new identity in {@code home}.
   *
   * @param expectedCa the CA fingerprint given out of band ({@code --ca-fingerprint}), or null to
   *     trust the CA on first use
   * @throws Q2qException with a user-facing message (wrong password, unreachable, CA mismatch...)
   */
  public Registration register(
      Address address, String password, ServerAddress server, Fingerprint expectedCa, ClientHome home)
      throws Q2qException {
    return register(address, password, server, expectedCa, home, Options.DEFAULT);
  }

  /**
   * Like {@link #register(Address, String, ServerAddress, Fingerprint, ClientHome)}, with {@code
   * options}. The key of an identity already stored for the address is kept (the server then
   * replaces that key's certificate: a renewal) unless {@link Options#newKey}; otherwise a new key
   * pair is made.
   */
  public Registration register(
      Address address, String password, ServerAddress server, Fingerprint expectedCa, ClientHome home,
      Options options) throws Q2qException {
    return register(address, password, List.of(server), expectedCa, home, options);
  }

  /**
   * Like {@link #register(Address, String, ServerAddress, Fingerprint, ClientHome, Options)} at
   * the first of a domain's nodes {@code servers} that answers (in order); all of them are
   * remembered for the address.
   */
  public Registration register(
      Address address, String password, List<ServerAddress> servers, Fingerprint expectedCa, ClientHome home,
      Options options) throws Q2qException {
    if (options.newPassword() != null && options.newPassword().isEmpty()) {
      throw new Q2qException(Reason.INVALID, "the new password is empty");
    }
    if (address.isDomain()) {
      throw new Q2qException(Reason.INVALID,
          "'" + address + "' is a domain; register a user address such as alice@" + address);
    }
    if (password.isEmpty()) {
      throw new Q2qException(Reason.INVALID, "the password is empty");
    }
    Address domain = address.domainAddress();
    ServerNodes nodes = new ServerNodes(domain, servers);
    X509Certificate ca = identifyVerified(nodes).ca();
    boolean newlyPinned;
    try {
      newlyPinned = home.pins().verifyOrPin(domain.domain(), ca, expectedCa);
    } catch (CaMismatchException e) {
      throw new Q2qException(Reason.TRUST, e.getMessage(), e);
    } catch (CertificateException e) {
      throw new Q2qException(Reason.TRUST, "the CA the server gave for " + domain + " is unusable: " + e.getMessage(), e);
    } catch (IOException e) {
      throw local("pin the CA of " + domain, home, e);
    }

    KeyPair keyPair = (options.newKey() ? Optional.<KeyPair>empty() : storedKey(home, address))
        .orElseGet(org.q2q.certstore.KeyPairs::generate);
    RegistrationCalls.Signed signed;
    ManagedChannel ch = PresenceChannels.open(nodes, PresenceChannels.trustingCa(domain, ca, clock), null, null);
    try {
      signed = RegistrationCalls.sign(ch, SIGN_CALL, keyPair, address, password, options.revokeOthers(),
          options.newPassword());
    } catch (StatusRuntimeException e) {
      throw Q2qException.fromStatus(e, nodes.current(), "registering " + address);
    } catch (CertificateException e) {
      throw new Q2qException(Reason.PROTOCOL, "the server sent an unreadable certificate: " + e.getMessage(), e);
    } finally {
      RegistrationCalls.close(ch);
    }
    List<X509Certificate> chain = signed.chain();

    Address certified;
    try {
      certified = ChainValidator.validate(chain, ca, clock.instant());
    } catch (CertificateException e) {
      throw new Q2qException(Reason.TRUST, "the certificate the server signed is not valid: " + e.getMessage(), e);
    }
    if (!certified.equals(address)) {
      throw new Q2qException(Reason.TRUST,
          "the server signed a certificate for " + certified + " instead of " + address);
    }
    if (!chain.get(0).getPublicKey().equals(keyPair.getPublic())) {
      throw new Q2qException(Reason.TRUST, "the server signed a certificate for another key");
    }
    Identity identity = new Identity(address, keyPair.getPrivate(), List.of(chain.get(0), ca));
    try {
      home.save(identity);
      home.saveServer(address, String.join(",", servers.stream().map(ServerAddress::toString).toList()));
    } catch (IOException e) {
      throw local("store the identity of " + address, home, e);
    }
    return new Registration(
        identity, Fingerprint.of(ca), newlyPinned, home.root().resolve("identities").resolve(address.toString()),
        nodes.current(), signed.revoked());
  }

  /** The key pair of the identity stored for {@code address}, if there is a readable one. */
  private static Optional<KeyPair> storedKey(ClientHome home, Address address) {
    try {
      return home.load(address).map(id -> new KeyPair(id.certificate().getPublicKey(), id.privateKey()));
    } catch (IOException | RuntimeException e) {
      return Optional.empty(); // unreadable or damaged: a new key replaces it
    }
  }

  /**
   * Asks {@code server} for the CA of the domain of {@code addressOrDomain} and checks that this
   * CA issued the server's own TLS certificate; pins nothing.
   *
   * @param home where to compare with the pinned CA, or null
   */
  public Identification identify(Address addressOrDomain, ServerAddress server, ClientHome home)
      throws Q2qException {
    return identify(addressOrDomain, List.of(server), home);
  }

  /** Like {@link #identify(Address, ServerAddress, ClientHome)}, asking the first of {@code servers} that answers. */
  public Identification identify(Address addressOrDomain, List<ServerAddress> servers, ClientHome home)
      throws Q2qException {
    Address domain = addressOrDomain.domainAddress();
    Identification id = identifyVerified(new ServerNodes(domain, servers));
    if (home == null) {
      return id;
    }
    try {
      Optional<X509Certificate> pinned = home.pins().get(domain.domain());
      if (pinned.isEmpty()) {
        return id;
      }
      Fingerprint p = Fingerprint.of(pinned.get());
      return new Identification(
          domain, id.ca(), id.fingerprint(), p.equals(id.fingerprint()) ? PinStatus.MATCHES : PinStatus.DIFFERS, p);
    } catch (IOException e) {
      throw local("read the pinned CA of " + domain, home, e);
    }
  }

  /**
   * Asks {@code server} which address and port it sees this client connect from, authenticating
   * with {@code identity} over TLS that trusts only the identity's domain CA.
   */
  public InetSocketAddress whoAmI(Identity identity, ServerAddress server) throws Q2qException {
    return whoAmI(identity, List.of(server));
  }

  /** Like {@link #whoAmI(Identity, ServerAddress)}, asking the first of {@code servers} that answers. */
  public InetSocketAddress whoAmI(Identity identity, List<ServerAddress> servers) throws Q2qException {
    Address domain = identity.address().domainAddress();
    ServerNodes nodes = new ServerNodes(domain, servers);
    ManagedChannel ch = PresenceChannels.open(
        nodes, PresenceChannels.trustingCa(domain, identity.caCertificate(), clock), identity, null);
    try {
      org.q2q.proto.HostPort hp = RegistrationCalls.whoAmI(ch, SHORT_CALL);
      // the server sends an IP literal: no name lookup happens here
      return new InetSocketAddress(InetAddress.getByName(hp.getHost()), hp.getPort());
    } catch (StatusRuntimeException e) {
      throw Q2qException.fromStatus(e, nodes.current(), "asking who am I");
    } catch (UnknownHostException | IllegalArgumentException e) {
      throw new Q2qException(Reason.PROTOCOL, "the server sent a bad address: " + e.getMessage(), e);
    } finally {
      RegistrationCalls.close(ch);
    }
  }

  /** Identify over a capturing TLS connection, then the checks that tie the CA to that server. */
  private Identification identifyVerified(ServerNodes nodes) throws Q2qException {
    Address domain = nodes.domain();
    ServerChainCapture capture = new ServerChainCapture(domain, false);
    ManagedChannel ch = PresenceChannels.open(nodes, capture, null, null);
    IdentifyResponse r;
    ServerAddress server;
    try {
      r = RegistrationCalls.identify(ch, SHORT_CALL, domain);
      server = nodes.current();
    } catch (StatusRuntimeException e) {
      throw Q2qException.fromStatus(e, nodes.current(), "identifying " + domain);
    } finally {
      RegistrationCalls.close(ch);
    }
    X509Certificate ca;
    try {
      ca = capture.verifyIdentified(r.getCaCertificate().toByteArray(), r.getDomain(), clock.instant());
    } catch (CertificateException e) {
      throw new Q2qException(Reason.TRUST, "the server at " + server + " cannot be trusted for " + domain + ": "
          + e.getMessage(), e);
    }
    return new Identification(domain, ca, Fingerprint.of(ca), PinStatus.NOT_PINNED, null);
  }

  private static Q2qException local(String what, ClientHome home, IOException e) {
    return new Q2qException(Reason.LOCAL, "cannot " + what + " in " + home.root() + ": " + e.getMessage(), e);
  }
}
