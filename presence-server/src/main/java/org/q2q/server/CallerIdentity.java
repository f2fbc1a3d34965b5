package org.q2q.server;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.net.SocketAddress;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import org.q2q.certstore.Address;

/**
 * Who is calling: the caller's verified certificate chain and q2q address, put in the gRPC
 * {@link Context} of every call by {@link #interceptor}.
 *
 * <ul>
 *   <li>{@link #CHAIN}: the client certificate chain presented in the TLS handshake (the handshake
 *       proved the caller holds the leaf's key), present even when it is not trusted;
 *   <li>{@link #ADDRESS}: the leaf's address, present only when the chain validated against the
 *       CA of the leaf's domain in {@link DomainCas} at the time of the call;
 *   <li>{@link #REMOTE_ADDRESS}: the caller's transport address as this server sees it;
 *   <li>{@link #LOCAL_ADDRESS}: this server's address the caller connected to.
 * </ul>
 *
 * Services that need an authenticated caller (Presence: Listen, Inbound, BindUdp, Relay) call
 * {@link #require()}; Registration calls need no client certificate. Why the check is here and not
 * in the TLS handshake: a failed handshake reaches the client as an opaque "bad_certificate"
 * alert, while an UNAUTHENTICATED status can say what is wrong; and a foreign domain's CA may be
 * learned by federation after the handshake.
 */
public final class CallerIdentity {
  /** The caller's validated address; absent if it sent no certificate or an untrusted one. */
  public static final Context.Key<Address> ADDRESS = Context.key("q2q-caller-address");
  /** The caller's certificate chain as presented (leaf first); absent without a certificate. */
  public static final Context.Key<List<X509Certificate>> CHAIN = Context.key("q2q-caller-chain");
  /** The caller's IP and port as this server sees them. */
  public static final Context.Key<SocketAddress> REMOTE_ADDRESS = Context.key("q2q-caller-remote");
  /** This server's IP and port the caller connected to. */
  public static final Context.Key<SocketAddress> LOCAL_ADDRESS = Context.key("q2q-caller-local");

  /** Why {@link #ADDRESS} is absent (shown to the caller by {@link #require()}). */
  private static final Context.Key<String> FAILURE = Context.key("q2q-caller-failure");

  private CallerIdentity() {}

  /**
   * The current call's validated address.
   *
   * @throws StatusRuntimeException UNAUTHENTICATED, saying why, when the call came without a
   *     trusted client certificate
   */
  public static Address require() {
    Address a = ADDRESS.get();
    if (a != null) {
      return a;
    }
    String why = FAILURE.get();
    throw Status.UNAUTHENTICATED
        .withDescription(why != null ? why : "this call needs a client certificate (register first)")
        .asRuntimeException();
  }

  /** The current call's validated address, or null. */
  public static Address current() {
    return ADDRESS.get();
  }

  /** The interceptor that fills the keys from the call's TLS session, validating against {@code cas}. */
  public static ServerInterceptor interceptor(DomainCas cas) {
    return new Interceptor(cas);
  }

  private static final class Interceptor implements ServerInterceptor {
    private final DomainCas cas;

    Interceptor(DomainCas cas) {
      this.cas = cas;
    }

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(
        ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
      Context ctx = Context.current();
      SocketAddress remote = call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR);
      if (remote != null) {
        ctx = ctx.withValue(REMOTE_ADDRESS, remote);
      }
      SocketAddress local = call.getAttributes().get(Grpc.TRANSPORT_ATTR_LOCAL_ADDR);
      if (local != null) {
        ctx = ctx.withValue(LOCAL_ADDRESS, local);
      }
      SSLSession session = call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION);
      List<X509Certificate> chain = peerChain(session);
      if (chain.isEmpty()) {
        ctx = ctx.withValue(FAILURE, "this call needs a client certificate (register first)");
      } else {
        ctx = ctx.withValue(CHAIN, chain);
        try {
          ctx = ctx.withValue(ADDRESS, cas.verify(chain, session));
        } catch (CertificateException e) {
          ctx = ctx.withValue(FAILURE, "client certificate not accepted: " + e.getMessage());
        }
      }
      return Contexts.interceptCall(ctx, call, headers, next);
    }

    private static List<X509Certificate> peerChain(SSLSession session) {
      if (session == null) {
        return List.of();
      }
      try {
        List<X509Certificate> out = new ArrayList<>();
        for (Certificate c : session.getPeerCertificates()) {
          if (c instanceof X509Certificate x) {
            out.add(x);
          }
        }
        return List.copyOf(out);
      } catch (SSLPeerUnverifiedException e) {
        return List.of(); // no client certificate: allowed, client auth is optional
      }
    }
  }
}
