package org.q2q.server.internal.tls;

import java.net.Socket;
import java.security.GeneralSecurityException;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;
import org.q2q.certstore.Certificates;

/**
 * The server's TLS trust manager for client certificates: it accepts any well-formed q2q chain
 * (the leaf names a q2q address, every certificate is signed by the next one, at most
 * {@value #MAX_CHAIN} long) and leaves trust to {@link org.q2q.server.CallerIdentity}, which
 * validates each call's chain against {@link org.q2q.server.DomainCas}. The handshake still proves
 * that the client holds the leaf's private key. Never used for server certificates. Safe for
 * concurrent use.
 */
public final class WellFormedChainTrustManager extends X509ExtendedTrustManager {
  /** Longer chains are refused outright (q2q chains are leaf + domain CA). */
  static final int MAX_CHAIN = 4;

  /** Checks the shape of {@code chain}. */
  static void check(X509Certificate[] chain) throws CertificateException {
    if (chain == null || chain.length == 0) {
      throw new CertificateException("empty client certificate chain");
    }
    if (chain.length > MAX_CHAIN) {
      throw new CertificateException("client certificate chain longer than " + MAX_CHAIN);
    }
    if (Certificates.addressOf(chain[0]).isEmpty()) {
      throw new CertificateException("the client certificate names no q2q address");
    }
    for (int i = 0; i + 1 < chain.length; i++) {
      try {
        chain[i].verify(chain[i + 1].getPublicKey());
      } catch (GeneralSecurityException e) {
        throw new CertificateException("client certificate " + i + " is not signed by the next one", e);
      }
    }
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
    check(chain);
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
      throws CertificateException {
    check(chain);
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
      throws CertificateException {
    check(chain);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
    throw new CertificateException("server-side trust manager used for a server certificate");
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
      throws CertificateException {
    checkServerTrusted(chain, authType);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
      throws CertificateException {
    checkServerTrusted(chain, authType);
  }

  @Override
  public X509Certificate[] getAcceptedIssuers() {
    // Empty: clients may offer a certificate of any domain (federation).
    return new X509Certificate[0];
  }
}
