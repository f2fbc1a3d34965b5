package org.q2q.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.ManagedChannel;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import io.netty.handler.ssl.SslContextBuilder;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.q2q.certstore.AddressTrustManager;
import org.q2q.proto.IdentifyRequest;
import org.q2q.proto.RegistrationGrpc;

/**
 * H5: the running server renews its own TLS certificate at two thirds of its life, so a client
 * still connects after the first certificate's expiry (on an injected clock, with a 1 min life, so
 * the renewal check runs every 3 s).
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ServerCertificateRenewalTest {

  /** The certificate the server presents to a new TLS connection now. */
  private static X509Certificate presented(LoopbackServer s) throws Exception {
    X509Certificate[] seen = new X509Certificate[1];
    SSLContext c = SSLContext.getInstance("TLS");
    c.init(null, new javax.net.ssl.TrustManager[] {new javax.net.ssl.X509TrustManager() {
      @Override
      public void checkClientTrusted(X509Certificate[] chain, String authType) {}

      @Override
      public void checkServerTrusted(X509Certificate[] chain, String authType) {
        seen[0] = chain[0];
      }

      @Override
      public X509Certificate[] getAcceptedIssuers() {
        return new X509Certificate[0];
      }
    }}, null);
    try (SSLSocket t = (SSLSocket) c.getSocketFactory().createSocket("127.0.0.1", s.port())) {
      t.setSoTimeout(5000);
      t.startHandshake();
    }
    return seen[0];
  }

  /** Identify over TLS validated against the server's CA at the test clock's time. */
  private static String identify(LoopbackServer s, MutableClock clock) throws Exception {
    PresenceServer server = s.server();
    AddressTrustManager trust = new AddressTrustManager(
        d -> d.equals(server.domain().domain()) ? Optional.of(server.ca().certificate()) : Optional.empty(),
        AddressTrustManager.AddressCheck.exactly(server.domain()), clock);
    ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", s.port())
        .sslContext(GrpcSslContexts.configure(SslContextBuilder.forClient()).trustManager(trust).build())
        .overrideAuthority("localhost")
        .build();
    try {
      return RegistrationGrpc.newBlockingStub(ch).withDeadlineAfter(10, TimeUnit.SECONDS)
          .identify(IdentifyRequest.newBuilder().setSubject("localhost").build()).getDomain();
    } finally {
      TestChannels.close(ch);
    }
  }

  @Test
  void theServerCertificateIsRenewedBeforeItExpires() throws Exception {
    MutableClock clock = new MutableClock();
    try (LoopbackServer s = LoopbackServer.start("localhost",
        b -> b.clock(clock).serverCertificateValidity(Duration.ofMinutes(1)))) {
      X509Certificate first = presented(s);
      assertThat(identify(s, clock)).isEqualTo("localhost");
      Instant firstExpiry = first.getNotAfter().toInstant();

      clock.advance(Duration.ofSeconds(35)); // not yet two thirds of its life
      Thread.sleep(3500); // a renewal check runs
      assertThat(presented(s).getSerialNumber()).isEqualTo(first.getSerialNumber());

      clock.advance(Duration.ofSeconds(10)); // past two thirds
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
      X509Certificate now = presented(s);
      while (now.getSerialNumber().equals(first.getSerialNumber()) && System.nanoTime() < deadline) {
        Thread.sleep(50); // polling interval
        now = presented(s);
      }
      assertThat(now.getSerialNumber()).as("a renewed certificate").isNotEqualTo(first.getSerialNumber());
      assertThat(now.getNotAfter().toInstant()).isAfter(firstExpiry);
      assertThat(s.server().serverIdentity().certificate()).isEqualTo(now);

      clock.advance(Duration.ofSeconds(30)); // the first certificate has expired now
      assertThat(clock.instant()).isAfter(firstExpiry);
      assertThat(identify(s, clock)).isEqualTo("localhost");
    }
  }
}
