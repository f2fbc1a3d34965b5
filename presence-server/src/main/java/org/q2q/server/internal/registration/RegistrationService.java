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
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import org.q2q.certstore.Address;
import org.q2q.certstore.AddressFormatException;
import org.q2q.certstore.CertificateAuthority;
import org.q2q.certstore.CertificateRequestException;
import org.q2q.certstore.Certificates;
import org.q2q.certstore.CertificationRequest;
import org.q2q.certstore.PasswordHasher;
import org.q2q.proto.HostPort;
import org.q2q.proto.IdentifyRequest;
import org.q2q.proto.IdentifyResponse;
import org.q2q.proto.RegistrationGrpc;
import org.q2q.proto.SignRequest;
import org.q2q.proto.SignResponse;
import org.q2q.proto.WhoAmIRequest;
import org.q2q.proto.WhoAmIResponse;
import org.q2q.server.AccountStore;
import org.q2q.server.CallerIdentity;
import org.q2q.server.RegistrationMode;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Registration service: Identify (this domain's CA), Sign (CSR + password -> certificate
 * chain) and WhoAmI (the caller's transport address).
 *
 * <p>Sign, step by step:
 *
 * <ol>
 *   <li>the request must be a well-formed CSR for exactly one user address of this domain
 *       (INVALID_ARGUMENT / PERMISSION_DENIED otherwise; Vertex signed any CSR, bug #18);
 *   <li>an address or client IP with {@code maxFailures} failed passwords in the window is refused
 *       with RESOURCE_EXHAUSTED "try again in N s" — even with the right password, so that a
 *       guesser learns nothing while blocked (and no Argon2 work is spent on it);
 *   <li>an existing account's password must match; with open registration an unused address gets
 *       an account; with closed registration it is refused;
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
  private final FailureLimiter byAddress;
  private final FailureLimiter byIp;
  /** Bounds concurrent Argon2 computations (each takes ~19 MiB and a core for tens of ms). */
  private final Semaphore hashing;

  public RegistrationService(
      CertificateAuthority ca,
      AccountStore accounts,
      PasswordHasher hasher,
      RegistrationMode mode,
      Duration validity,
      FailureLimiter byAddress,
      FailureLimiter byIp,
      int concurrentHashes) {
    this.ca = ca;
    this.accounts = accounts;
    this.hasher = hasher;
    this.mode = mode;
    this.validity = validity;
    this.byAddress = byAddress;
    this.byIp = byIp;
    this.hashing = new Semaphore(concurrentHashes);
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
  public void sign(SignRequest request, StreamObserver<SignResponse> out) {
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
    String ip = callerIp();
    String addressKey = address.toString();
    checkNotBlocked(byAddress.blockedFor(addressKey), "for " + address);
    checkNotBlocked(byIp.blockedFor(ip), "from " + ip);

    authenticate(address, password, addressKey, ip);
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
        String hash = withHashing(() -> hasher.hash(newPassword));
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

  private void authenticate(Address address, String password, String addressKey, String ip) {
    Optional<AccountStore.Account> account;
    try {
      account = accounts.find(address);
      if (account.isEmpty()) {
        if (mode == RegistrationMode.CLOSED) {
          byIp.recordFailure(ip);
          throw Status.PERMISSION_DENIED
              .withDescription(
                  "there is no account " + address + " on this server, and registration is closed"
                      + " (the administrator adds accounts with 'q2q server adduser')")
              .asRuntimeException();
        }
        String hash = withHashing(() -> hasher.hash(password));
        if (accounts.create(address, hash)) {
          log.info("{}: created the account {}", ip, address);
          return;
        }
        account = accounts.find(address); // created concurrently: check against that one
      }
    } catch (IOException e) {
      throw storageFailure(e);
    }
    String stored = account.orElseThrow().passwordHash();
    if (!withHashing(() -> hasher.verify(password, stored))) {
      byAddress.recordFailure(addressKey);
      byIp.recordFailure(ip);
      log.info("{}: wrong password for {}", ip, address);
      throw Status.PERMISSION_DENIED
          .withDescription("wrong password for " + address)
          .asRuntimeException();
    }
    byAddress.reset(addressKey);
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

  private <T> T withHashing(java.util.function.Supplier<T> work) {
    boolean acquired;
    try {
      acquired = hashing.tryAcquire(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw Status.CANCELLED.withDescription("interrupted").asRuntimeException();
    }
    if (!acquired) {
      throw Status.RESOURCE_EXHAUSTED
          .withDescription("the server is busy checking passwords; try again in a few seconds")
          .asRuntimeException();
    }
    try {
      return work.get();
    } finally {
      hashing.release();
    }
  }

  private static void checkNotBlocked(Optional<Duration> blocked, String what) {
    if (blocked.isPresent()) {
      long seconds = Math.max(1, (blocked.get().toMillis() + 999) / 1000);
      throw Status.RESOURCE_EXHAUSTED
          .withDescription(
              "too many failed password attempts " + what + "; try again in " + seconds + " s")
          .asRuntimeException();
    }
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
