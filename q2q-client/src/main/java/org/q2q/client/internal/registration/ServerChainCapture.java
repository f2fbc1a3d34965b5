package org.q2q.client.internal.registration;

import java.net.Socket;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.List;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * Trust on first use, step one: accepts whatever certificate chain the server presents and keeps
 * it, so that the CA the server then names in Identify can be checked against it. Nothing secret
 * is sent over a connection that trusts this. Safe for concurrent use.
 */
public final class ServerChainCapture extends X509ExtendedTrustManager {
  private volatile List<X509Certificate> chain = List.of();

  /** The chain of the last handshake (leaf first), empty before any. */
  public List<X509Certificate> chain() {
    return chain;
  }

  private void capture(X509Certificate[] presented) throws CertificateException {
    if (presented == null || presented.length == 0) {
      throw new CertificateException("the server presented no certificate");
    }
    chain = List.of(presented);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] c, String authType) throws CertificateException {
    capture(c);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] c, String authType, Socket socket) throws CertificateException {
    capture(c);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] c, String authType, SSLEngine engine) throws CertificateException {
    capture(c);
  }

  @Override
  public void checkClientTrusted(X509Certificate[] c, String authType) throws CertificateException {
    throw new CertificateException("client-side trust manager used for a client certificate");
  }

  @Override
  public void checkClientTrusted(X509Certificate[] c, String authType, Socket socket) throws CertificateException {
    checkClientTrusted(c, authType);
  }

  @Override
  public void checkClientTrusted(X509Certificate[] c, String authType, SSLEngine engine) throws CertificateException {
    checkClientTrusted(c, authType);
  }

  @Override
  public X509Certificate[] getAcceptedIssuers() {
    return new X509Certificate[0];
  }
}
