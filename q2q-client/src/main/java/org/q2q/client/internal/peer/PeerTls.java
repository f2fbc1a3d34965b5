package org.q2q.client.internal.peer;

import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslProvider;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import javax.net.ssl.SSLException;
import org.q2q.certstore.Address;
import org.q2q.certstore.AddressTrustManager;
import org.q2q.certstore.AddressTrustManager.AddressCheck;
import org.q2q.certstore.ChainTrustManager;
import org.q2q.certstore.IdentityKeyManager;

/**
 * Mutual TLS 1.3 between two q2q identities: the initiator is the TLS client, the acceptor the
 * server requiring a client certificate; each side checks the other's chain against the CA of the
 * other's domain and the address against the one expected. The trust decision is remembered so a
 * failed handshake can say exactly why ({@link #rejection()}) and a good one who ({@link
 * #verifiedPeer()}).
 *
 * <p>One instance per session attempt. Safe for concurrent use (the engine may call from a
 * delegated-task thread).
 */
final class PeerTls extends ChainTrustManager {
  private final AddressTrustManager delegate;
  private volatile CertificateException rejection;
  private volatile Address verifiedPeer;

  PeerTls(PeerSessionConfig cfg) {
    AddressCheck check = cfg.expectedPeer() == null ? AddressCheck.any() : AddressCheck.exactly(cfg.expectedPeer());
    this.delegate = new AddressTrustManager(cfg.caResolver(), check, cfg.clock());
  }

  /** A new SslHandler for {@code cfg}'s role presenting {@code cfg}'s identity. */
  SslHandler newHandler(PeerSessionConfig cfg, ByteBufAllocator alloc) throws SSLException {
    SslContextBuilder b =
        cfg.role() == PeerRole.INITIATOR
            ? SslContextBuilder.forClient().keyManager(new IdentityKeyManager(cfg.identity()))
            : SslContextBuilder.forServer(new IdentityKeyManager(cfg.identity())).clientAuth(ClientAuth.REQUIRE);
    SslContext ctx = b.sslProvider(provider()).protocols("TLSv1.3").trustManager(this).build();
    SslHandler handler = ctx.newHandler(alloc);
    handler.setHandshakeTimeoutMillis(cfg.handshakeTimeout().toMillis());
    // No coalescing here: it copies what it joins. RecordBatcher, above, gathers the small writes.
    handler.setWrapDataSize(0);
    return handler;
  }

  /**
   * BoringSSL (netty-tcnative) when its native library loads, else the JDK: the JDK's AES-GCM
   * costs several times more CPU per byte, and a relayed byte is encrypted three times. Either
   * way this class is the trust manager, so the trust decision and its message are the same.
   */
  static SslProvider provider() {
    return OpenSsl.isAvailable() && !Boolean.getBoolean("q2q.tls.jdk") ? SslProvider.OPENSSL : SslProvider.JDK;
  }

  /** Why this side rejected the peer's certificate, or null if it did not. */
  CertificateException rejection() {
    return rejection;
  }

  /** The peer's address once its certificate was verified, else null. */
  Address verifiedPeer() {
    return verifiedPeer;
  }

  private void verify(X509Certificate[] chain) throws CertificateException {
    try {
      verifiedPeer = delegate.verify(chain);
    } catch (CertificateException e) {
      rejection = e;
      throw e;
    }
  }

  @Override
  protected void checkChain(X509Certificate[] chain, boolean clientChain) throws CertificateException {
    verify(chain);
  }
}
