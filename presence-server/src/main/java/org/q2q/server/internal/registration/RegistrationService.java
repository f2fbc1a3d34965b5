package org.q2q.server.internal.registration;

import com.google.protobuf.ByteString;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.function.Supplier;
import org.q2q.certstore.Address;
import org.q2q.certstore.AddressFormatException;
import org.q2q.certstore.CertificateAuthority;
import org.q2q.certstore.CertificateRequestException;
import org.q2q.certstore.Certificates;
import org.q2q.certstore.CertificationRequest;
import org.q2q.certstore.PasswordHasher;
import org.q2q.certstore.ServerDirectory;
import org.q2q.proto.HostPort;
import org.q2q.proto.IdentifyRequest;
import org.q2q.proto.IdentifyResponse;
import org.q2q.proto.NodesRequest;
import org.q2q.proto.NodesResponse;
import org.q2q.proto.RegistrationGrpc;
import org.q2q.proto.SignRequest;
import org.q2q.proto.SignResponse;
import org.q2q.proto.WhoAmIRequest;
import org.q2q.proto.WhoAmIResponse;
import org.q2q.server.AccountStore;
import org.q2q.server.CallerIdentity;
import org.q2q.server.RegistrationMode;
import org.q2q.server.internal.grpc.StatusMappingInterceptor;
import org.q2q.server.internal.limits.ClientNetwork;
import org.q2q.server.internal.metrics.ServerMetrics;
import org.q2q.server.internal.metrics.ServerMetrics.Outcome;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Registration service: Identify (this domain's CA), Sign (CSR + password -> certificate
 * chain), WhoAmI (the caller's transport address) and Nodes (the domain's live nodes, so a client
 * can move to another when its node goes away).
 *
 * <p>Sign, step by step:
 *
 * <ol>
 *   <li>the {@link SignGate} admits the call (a token of the caller's network, room on the
 *       registration executor) or refuses it at once with RESOURCE_EXHAUSTED, before anything in
 *       the request is parsed; the rest runs on the registration executor, never on the gRPC
 *       threads;
 *   <li>the request must be a well-formed CSR for exactly one user address of this domain
 *       (INVALID_ARGUMENT / PERMISSION_DENIED otherwise; Vertex signed any CSR, bug #18);
 *   <li>a failed attempt is counted before the password is hashed ({@link SignGate#reserve}),
 *       refunded on success; an (address, client network), a network or an address over its limit
 *       is refused with RESOURCE_EXHAUSTED "try again in N s" — even with the right password, so
 *       that a guesser learns nothing while blocked (and no Argon2 work is spent on it);
 *   <li>an existing account's password must match; with open registration an unused address gets
 *       an account (within the network's creation rate); with closed registration an unknown
 *       address gets the same answer as a wrong password, after the same hashing work (L4);
 *   <li>the CA signs the CSR's key for that address; the certificate is recorded.
 * </ol>
 *
 * Safe for concurrent use.
 */
public final class RegistrationService extends RegistrationGrpc.RegistrationImplBase {
  private static final Logger log = LoggerFactory.getLogger(RegistrationService.class);

  /** Longest accepted password, in characters. */
  static final int MAX_PASSWORD_LENGTH = 1024;
  /**
   * Devices (distinct keys with a valid, unrevoked certificate) one account may have at once; a
   * renewal for a known key replaces its certificate and does not count. Bounds what a leaked
   * password can mint; the owner frees slots with "revoke my other devices".
   */
  public static final int MAX_KEYS_PER_ACCOUNT = 16;

  private final CertificateAuthority ca;
  private final AccountStore accounts;
  private final PasswordHasher hasher;
  private final RegistrationMode mode;
  private final Duration validity;
  private final SignGate gate;
  private final ServerMetrics metrics;
  /** The domain's live nodes, this one first; empty: this node only, as the caller reached it. */
  private final Supplier<List<ServerDirectory.Endpoint>> nodes;
  /** A hash no password matches, verified against for unknown accounts (same work as a real check). */
  private volatile String dummyHash;

  public RegistrationService(
      CertificateAuthority ca,
      AccountStore accounts,
      PasswordHasher hasher,
      RegistrationMode mode,
      Duration validity,
      SignGate gate,
      ServerMetrics metrics,
      Supplier<List<ServerDirectory.Endpoint>> nodes) {
    this.metrics = metrics;
    this.nodes = java.util.Objects.requireNonNull(nodes, "nodes");
    this.ca = ca;
    this.accounts = accounts;
    this.hasher = hasher;
    this.mode = mode;
    this.validity = validity;
    this.gate = gate;
  }

  @Override
  public void identify(IdentifyRequest request, StreamObserver<IdentifyResponse> out) {
    Address subject;
    try {
      subject = Address.parse(request.getSubject());
    } catch (AddressFormatException e) {
      throw Status.INVALID_ARGUMENT.withDescription(e.getMessage()).asRuntimeException();
    }
    if (!subject.domain().equals(ca.domain().domain())) {
      throw Status.NOT_FOUND
          .withDescription(
              "this server speaks only for " + ca.domain() + ", not for " + subject.domainAddress())
          .asRuntimeException();
    }
    out.onNext(
        IdentifyResponse.newBuilder()
            .setCaCertificate(ByteString.copyFrom(Certificates.toDer(ca.certificate())))
            .setDomain(ca.domain().domain())
            .build());
    out.onCompleted();
  }

  @Override
  public void whoAmI(WhoAmIRequest request, StreamObserver<WhoAmIResponse> out) {
    SocketAddress remote = CallerIdentity.REMOTE_ADDRESS.get();
    if (!(remote instanceof InetSocketAddress isa) || isa.getAddress() == null) {
      throw Status.FAILED_PRECONDITION
          .withDescription("the server cannot tell the caller's IP address on this transport")
          .asRuntimeException();
    }
    out.onNext(
        WhoAmIResponse.newBuilder()
            .setAddress(HostPort.newBuilder().setHost(hostOf(isa)).setPort(isa.getPort()))
            .build());
    out.onCompleted();
  }

  @Override
  public void nodes(NodesRequest request, StreamObserver<NodesResponse> out) {
    List<ServerDirectory.Endpoint> live = nodes.get();
    NodesResponse.Builder r = NodesResponse.newBuilder();
    if (live == null || live.isEmpty()) {
      // no directory: this node, at the address the caller reached it (what else it listens on
      // may not be reachable from there)
      if (CallerIdentity.LOCAL_ADDRESS.get() instanceof InetSocketAddress local && local.getAddress() != null) {
        r.addNodes(HostPort.newBuilder().setHost(hostOf(local)).setPort(local.getPort()));
      }
    } else {
      live.forEach(e -> r.addNodes(HostPort.newBuilder().setHost(e.host()).setPort(e.port())));
    }
    out.onNext(r.build());
    out.onCompleted();
  }

  @Override
  public void sign(SignRequest request, StreamObserver<SignResponse> out) {
    String ip = callerIp(); // read now: the work runs outside this call's Context
    String network = ClientNetwork.of(CallerIdentity.REMOTE_ADDRESS.get());
    io.grpc.Context call = io.grpc.Context.current();
    try {
      gate.submit(network, () -> {
        if (call.isCancelled()) {
          metrics.sign(Outcome.CANCELLED);
          return; // the caller gave up while it waited
        }
        try {
          signNow(request, out, ip, network);
          metrics.sign(Outcome.OK);
        } catch (StatusRuntimeException e) {
          metrics.sign(Outcome.of(e.getStatus().getCode()));
          out.onError(e);
        } catch (RuntimeException e) {
          metrics.sign(Outcome.ERROR);
          out.onError(StatusMappingInterceptor.toStatus(e, "Sign").asRuntimeException());
        }
      });
    } catch (StatusRuntimeException e) { // refused before any work: the rate or the executor's room
      metrics.sign(Outcome.of(e.getStatus().getCode()));
      throw e;
    }
  }

  private void signNow(SignRequest request, StreamObserver<SignResponse> out, String ip, String network) {
    String password = request.getPassword();
    if (password.isEmpty()) {
      throw Status.INVALID_ARGUMENT.withDescription("the password is empty").asRuntimeException();
    }
    if (password.length() > MAX_PASSWORD_LENGTH) {
      throw Status.INVALID_ARGUMENT
          .withDescription("the password is longer than " + MAX_PASSWORD_LENGTH + " characters")
          .asRuntimeException();
    }
    String newPassword = request.getNewPassword();
    if (newPassword.length() > MAX_PASSWORD_LENGTH) {
      throw Status.INVALID_ARGUMENT
          .withDescription("the new password is longer than " + MAX_PASSWORD_LENGTH + " characters")
          .asRuntimeException();
    }
    CertificationRequest csr;
    try {
      csr = CertificationRequest.parse(request.getCertificationRequest().toByteArray());
    } catch (CertificateRequestException e) {
      throw (e.kind() == CertificateRequestException.Kind.NOT_PERMITTED
              ? Status.PERMISSION_DENIED
              : Status.INVALID_ARGUMENT)
          .withDescription("certification request refused: " + e.getMessage())
          .asRuntimeException();
    }
    Address address = csr.address();
    if (!address.domain().equals(ca.domain().domain())) {
      throw Status.PERMISSION_DENIED
          .withDescription(
              "this server signs only addresses @" + ca.domain() + ", not " + address)
          .asRuntimeException();
    }
    SignGate.Attempt attempt = gate.reserve(address, network);
    authenticate(address, password, ip, network);
    attempt.succeeded();
    String keySha256 = sha256Hex(csr.publicKey().getEncoded());
    checkDeviceCap(address, keySha256, request.getRevokeOthers());

    List<X509Certificate> chain;
    try {
      chain = ca.sign(csr, validity);
    } catch (CertificateRequestException e) {
      throw Status.PERMISSION_DENIED.withDescription(e.getMessage()).asRuntimeException();
    }
    X509Certificate leaf = chain.get(0);
    int revoked;
    try {
      accounts.recordCertificate(leaf.getSerialNumber(), address, leaf.getNotAfter().toInstant(), keySha256);
      revoked = accounts.revokeSameKey(address, keySha256, leaf.getSerialNumber(), "renewed");
      if (request.getRevokeOthers()) {
        revoked += accounts.revokeAll(address, leaf.getSerialNumber(), "revoked by the owner");
      }
      if (!newPassword.isEmpty()) {
        String hash = hasher.hash(newPassword); // on the gate's bounded executor, like every Sign
        accounts.changePassword(address, hash);
        log.info("{}: changed the password of {}", ip, address);
      }
    } catch (IOException e) {
      throw storageFailure(e);
    }
    log.info("{}: signed a certificate for {} (serial {}, until {}; {} older revoked)",
        ip, address, leaf.getSerialNumber().toString(16), leaf.getNotAfter().toInstant(), revoked);
    SignResponse.Builder b = SignResponse.newBuilder().setRevoked(revoked);
    chain.forEach(c -> b.addCertificateChain(ByteString.copyFrom(Certificates.toDer(c))));
    out.onNext(b.build());
    out.onCompleted();
  }

  private void authenticate(Address address, String password, String ip, String network) {
    Optional<AccountStore.Account> account;
    try {
      account = accounts.find(address);
      if (account.isEmpty()) {
        if (mode == RegistrationMode.CLOSED) {
          hasher.verify(password, dummyHash()); // as long as a real check: existence does not show
          log.info("{}: no account {} (registration is closed)", ip, address);
          throw wrongPassword(address);
        }
        gate.requireCreation(network);
        String hash = hasher.hash(password);
        if (accounts.create(address, hash)) {
          metrics.accountCreated();
          log.info("{}: created the account {}", ip, address);
          return;
        }
        account = accounts.find(address); // created concurrently: check against that one
      }
    } catch (IOException e) {
      throw storageFailure(e);
    }
    String stored = account.orElseThrow().passwordHash();
    if (!hasher.verify(password, stored)) {
      log.info("{}: wrong password for {}", ip, address);
      throw wrongPassword(address);
    }
  }

  private void checkDeviceCap(Address address, String keySha256, boolean revokeOthers) {
    if (revokeOthers) {
      return; // the others go once this one is issued
    }
    int others;
    try {
      others = accounts.liveKeysOtherThan(address, keySha256, ca.clock().instant());
    } catch (IOException e) {
      throw storageFailure(e);
    }
    if (others >= MAX_KEYS_PER_ACCOUNT) {
      throw Status.RESOURCE_EXHAUSTED
          .withDescription(address + " already has valid certificates on " + others + " devices (the limit is "
              + MAX_KEYS_PER_ACCOUNT + "); register with --revoke-others to revoke them, or ask the administrator")
          .asRuntimeException();
    }
  }


  private StatusRuntimeException wrongPassword(Address address) {
    if (mode == RegistrationMode.CLOSED) { // one answer for both, so accounts cannot be enumerated
      return Status.PERMISSION_DENIED
          .withDescription("wrong password, or no account " + address + " (registration is closed on this server:"
              + " the administrator adds accounts with 'q2q server adduser')")
          .asRuntimeException();
    }
    return Status.PERMISSION_DENIED.withDescription("wrong password for " + address).asRuntimeException();
  }

  private String dummyHash() {
    String h = dummyHash;
    if (h == null) {
      h = hasher.hash(java.util.UUID.randomUUID().toString());
      dummyHash = h;
    }
    return h;
  }

  private static String sha256Hex(byte[] encodedKey) {
    try {
      return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(encodedKey));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String callerIp() {
    SocketAddress remote = CallerIdentity.REMOTE_ADDRESS.get();
    if (remote instanceof InetSocketAddress isa && isa.getAddress() != null) {
      return hostOf(isa);
    }
    return String.valueOf(remote);
  }

  private static String hostOf(InetSocketAddress isa) {
    String h = isa.getAddress().getHostAddress();
    int scope = h.indexOf('%');
    return scope >= 0 ? h.substring(0, scope) : h;
  }

  private static StatusRuntimeException storageFailure(IOException e) {
    log.error("account storage failed", e);
    return Status.UNAVAILABLE
        .withDescription("the server cannot reach its account database; try again later")
        .asRuntimeException();
  }
}
