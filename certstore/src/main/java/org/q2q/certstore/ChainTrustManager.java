package org.q2q.certstore;

import java.net.Socket;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * Base of q2q's TLS trust managers: every JSSE entry point funnels into one {@link #checkChain}.
 * Being an {@link X509ExtendedTrustManager}, it also takes over host-name identification from the
 * JDK, which q2q does not want: peers and servers are named by q2q address, not by DNS name or IP.
 */
public abstract class ChainTrustManager extends X509ExtendedTrustManager {
  /**
   * Decides on a presented chain.
   *
   * @param chain leaf first, as presented
   * @param clientChain true if a TLS client presented it (we are the TLS server)
   * @throws CertificateException saying why the chain is refused
   */
  protected abstract void checkChain(X509Certificate[] chain, boolean clientChain) throws CertificateException;

  @Override
  public final void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
    checkChain(chain, true);
  }

  @Override
  public final void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
    checkChain(chain, false);
  }

  @Override
  public final void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
      throws CertificateException {
    checkChain(chain, true);
  }

  @Override
  public final void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
      throws CertificateException {
    checkChain(chain, false);
  }

  @Override
  public final void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
      throws CertificateException {
    checkChain(chain, true);
  }

  @Override
  public final void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
      throws CertificateException {
    checkChain(chain, false);
  }

  /** Empty: any client certificate is offered and then judged by {@link #checkChain}. */
  @Override
  public X509Certificate[] getAcceptedIssuers() {
    return new X509Certificate[0];
  }
}
