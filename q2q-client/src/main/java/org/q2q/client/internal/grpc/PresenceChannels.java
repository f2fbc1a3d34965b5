package org.q2q.client.internal.grpc;

import io.grpc.ManagedChannel;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLException;
import javax.net.ssl.X509TrustManager;
import org.q2q.client.internal.net.SocketTransport;
import org.q2q.certstore.Address;
import org.q2q.certstore.AddressTrustManager;
import org.q2q.certstore.Identity;
import org.q2q.certstore.IdentityKeyManager;
import org.q2q.client.ServerAddress;

/**
 * Opens gRPC channels to a domain's presence server (one or several nodes) over TLS. The server
 * is authenticated by its domain's CA and the q2q address in its certificate (the domain), never by the DNS name or IP it
 * was reached at, so {@code 127.0.0.1:8788} can serve {@code localhost} or {@code example.com}.
 */
public final class PresenceChannels {
  /**
   * Keepalive so a dead server is noticed even on an idle channel: a ping once nothing has been read
   * for this long. Longer than the presence heartbeat (30 s), whose echoes then keep a listening
   * channel from pinging as well.
   */
  private static final long KEEPALIVE_SECONDS = 45;
  /**
   * How long one node may take to accept a TCP connection before the channel tries the next: a
   * closed port is refused at once, a vanished host answers nothing.
   */
  public static final Duration NODE_CONNECT_TIMEOUT = Duration.ofSeconds(3);

  private PresenceChannels() {}

  /**
   * A trust manager accepting only a server certificate issued by {@code ca} for {@code domain}.
   */
  public static X509TrustManager trustingCa(Address domain, X509Certificate ca, Clock clock) {
    return new AddressTrustManager(
        d -> d.equals(domain.domain()) ? Optional.of(ca) : Optional.empty(),
        AddressTrustManager.AddressCheck.exactly(domain.domainAddress()),
        clock);
  }

  /**
   * Opens a channel to one server (connects lazily).
   *
   * @param server where the server listens
   * @param domain the domain it speaks for (used as the TLS authority)
   * @param trust decides whether the server's certificate is acceptable
   * @param client the client identity for mutual TLS, or null for Registration calls
   */
  public static ManagedChannel open(ServerAddress server, Address domain, X509TrustManager trust, Identity client) {
    return open(new ServerNodes(domain, List.of(server)), trust, client, null);
  }

  /**
   * Opens a channel to a domain's nodes (connects lazily): to the first of {@code nodes} that
   * answers, in their order, and to the next that answers whenever its node goes away (gRPC's
   * {@code pick_first} over {@link NodesNameResolver}); each node gets {@link
   * #NODE_CONNECT_TIMEOUT} to accept the connection. The channel's transport runs on {@code loop}
   * (an NIO or epoll event loop), or on gRPC's shared loops if null: relay streams whose byte pipe runs on
   * the same loop then hand bytes to gRPC and back without a thread switch (each switch was a
   * queue hand-off plus an eventfd wake-up per message).
   *
   * @param trust decides whether a node's certificate is acceptable
   * @param client the client identity for mutual TLS, or null for Registration calls
   */
  @SuppressWarnings("deprecation") // nameResolverFactory: the way to give one channel its own resolver
  public static ManagedChannel open(ServerNodes nodes, X509TrustManager trust, Identity client,
      io.netty.channel.EventLoop loop) {
    try {
      SslContextBuilder b = GrpcSslContexts.configure(SslContextBuilder.forClient()).trustManager(trust);
      if (client != null) {
        b.keyManager(new IdentityKeyManager(client));
      }
      SslContext ssl = b.build();
      NettyChannelBuilder builder = NettyChannelBuilder.forTarget(NodesNameResolver.SCHEME + ":///servers")
          .nameResolverFactory(new NodesNameResolver.Factory(nodes))
          .defaultLoadBalancingPolicy("pick_first")
          .withOption(io.netty.channel.ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) NODE_CONNECT_TIMEOUT.toMillis())
          .intercept(nodes.recorder())
          .sslContext(ssl)
          .overrideAuthority(authority(nodes.domain()))
          .keepAliveTime(KEEPALIVE_SECONDS, TimeUnit.SECONDS)
          .keepAliveWithoutCalls(true);
      if (loop != null) {
        builder.eventLoopGroup(loop).channelType(SocketTransport.of(loop).socketChannel());
      }
      return builder.build();
    } catch (SSLException e) {
      throw new IllegalStateException("cannot set up TLS to " + nodes + ": " + e.getMessage(), e);
    }
  }

  /**
   * The TLS context for a server's relay socket: {@code client}'s identity, the server checked by
   * {@code trust}, ALPN {@value #RELAY_ALPN} only.
   */
  public static SslContext relaySocketContext(X509TrustManager trust, Identity client) {
    try {
      return SslContextBuilder.forClient()
          .trustManager(trust)
          .keyManager(client.privateKey(), client.chainArray())
          .applicationProtocolConfig(new io.netty.handler.ssl.ApplicationProtocolConfig(
              io.netty.handler.ssl.ApplicationProtocolConfig.Protocol.ALPN,
              io.netty.handler.ssl.ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
              io.netty.handler.ssl.ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT,
              RELAY_ALPN))
          .build();
    } catch (SSLException e) {
      throw new IllegalStateException("cannot set up TLS for the relay socket: " + e.getMessage(), e);
    }
  }

  /** The ALPN protocol of a presence server's relay socket. */
  public static final String RELAY_ALPN = "q2q-relay/1";

  private static String authority(Address domain) {
    String d = domain.domain();
    // gRPC authorities must be host names; an IP-literal domain is fine as is.
    return d;
  }

  /** Thrown inside trust managers; here so callers can recognise certificate failures. */
  public static boolean isCertificateFailure(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c instanceof CertificateException || c instanceof javax.net.ssl.SSLHandshakeException) {
        return true;
      }
    }
    return false;
  }
}
