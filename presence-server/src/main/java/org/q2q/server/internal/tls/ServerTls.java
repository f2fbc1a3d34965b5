package org.q2q.server.internal.tls;

import io.grpc.netty.GrpcSslContexts;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import javax.net.ssl.SSLException;
import org.q2q.certstore.Address;
import org.q2q.certstore.CertificateAuthority;
import org.q2q.certstore.Identity;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The presence server's TLS: its CA-issued identity and the Netty server context. */
public final class ServerTls {
  private static final Logger log = LoggerFactory.getLogger(ServerTls.class);

  /** Lifetime of the server certificate; renewed at two thirds of it ({@link ServerCertificate}). */
  public static final Duration VALIDITY = Duration.ofDays(90);

  private ServerTls() {}

  /**
   * Issues the server's identity from {@code ca}: address = the domain; SAN DNS names and IPs for
   * the domain, localhost, this machine's host name, 127.0.0.1, ::1 and the bind address, so that
   * ordinary TLS clients that check host names also accept it.
   */
  public static Identity issueIdentity(CertificateAuthority ca, String bindHost) {
    return issueIdentity(ca, bindHost, VALIDITY);
  }

  /** The same with another lifetime. */
  public static Identity issueIdentity(CertificateAuthority ca, String bindHost, Duration validity) {
    Set<String> dns = new LinkedHashSet<>();
    Set<InetAddress> ips = new LinkedHashSet<>();
    addName(ca.domain().domain(), dns, ips);
    dns.add("localhost");
    try {
      addName(InetAddress.getLocalHost().getHostName(), dns, ips);
    } catch (UnknownHostException e) {
      log.debug("no local host name: {}", e.toString());
    }
    addName("127.0.0.1", dns, ips);
    addName("::1", dns, ips);
    if (bindHost != null && !bindHost.isEmpty()) {
      addName(bindHost, dns, ips);
    }
    ips.removeIf(InetAddress::isAnyLocalAddress);
    return ca.issueServerIdentity(new ArrayList<>(dns), new ArrayList<>(ips), validity);
  }

  private static void addName(String name, Set<String> dns, Set<InetAddress> ips) {
    String n = name.startsWith("[") && name.endsWith("]") ? name.substring(1, name.length() - 1) : name;
    if (isIpLiteral(n)) {
      try {
        ips.add(InetAddress.getByName(n)); // a literal: no lookup happens
      } catch (UnknownHostException e) {
        throw new IllegalStateException(e);
      }
    } else {
      try {
        dns.add(Address.ofDomain(n).domain());
      } catch (IllegalArgumentException e) {
        log.debug("host name '{}' left out of the server certificate: {}", n, e.getMessage());
      }
    }
  }

  private static boolean isIpLiteral(String s) {
    return s.contains(":") || s.matches("\\d{1,3}(\\.\\d{1,3}){3}");
  }

  /**
   * The server context presenting whatever {@code certificate} holds at each handshake, client
   * certificates optional and shape-checked only.
   */
  public static SslContext serverContext(ServerCertificate certificate) throws SSLException {
    return GrpcSslContexts.configure(SslContextBuilder.forServer(certificate))
        .trustManager(new WellFormedChainTrustManager())
        .clientAuth(ClientAuth.OPTIONAL)
        .build();
  }

  /**
   * The relay socket's context: the server's certificate as {@code keys} presents it (renewed
   * like the gRPC port's), ALPN {@code alpn} only, a client certificate
   * required but shape-checked only (it is verified against the domain CAs after the handshake, so
   * that a refusal can say why and a foreign CA can be learned first).
   */
  public static SslContext relayContext(javax.net.ssl.KeyManager keys, String alpn) throws SSLException {
    return SslContextBuilder.forServer(keys)
        .trustManager(new WellFormedChainTrustManager())
        .clientAuth(ClientAuth.REQUIRE)
        .applicationProtocolConfig(new io.netty.handler.ssl.ApplicationProtocolConfig(
            io.netty.handler.ssl.ApplicationProtocolConfig.Protocol.ALPN,
            io.netty.handler.ssl.ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
            io.netty.handler.ssl.ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT,
            alpn))
        .build();
  }

  /** The server context: {@code identity}, client certificates optional and shape-checked only. */
  public static SslContext serverContext(Identity identity) throws SSLException {
    List<java.security.cert.X509Certificate> chain = identity.chain();
    return GrpcSslContexts.configure(
            SslContextBuilder.forServer(identity.privateKey(), chain.toArray(java.security.cert.X509Certificate[]::new)))
        .trustManager(new WellFormedChainTrustManager())
        .clientAuth(ClientAuth.OPTIONAL)
        .build();
  }
}
