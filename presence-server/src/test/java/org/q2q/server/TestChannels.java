package org.q2q.server;

import io.grpc.ManagedChannel;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import io.netty.handler.ssl.SslContextBuilder;
import java.time.Clock;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLException;
import org.q2q.certstore.AddressTrustManager;
import org.q2q.certstore.Identity;

/** Real TLS gRPC channels to a {@link LoopbackServer}, trusting only its CA. */
final class TestChannels {
  private TestChannels() {}

  /** A channel to {@code s}, presenting {@code client} (or no certificate if null). */
  static ManagedChannel open(LoopbackServer s, Identity client) throws SSLException {
    PresenceServer server = s.server();
    AddressTrustManager trust =
        new AddressTrustManager(
            d -> d.equals(server.domain().domain()) ? Optional.of(server.ca().certificate()) : Optional.empty(),
            AddressTrustManager.AddressCheck.exactly(server.domain()),
            Clock.systemUTC());
    SslContextBuilder b = GrpcSslContexts.configure(SslContextBuilder.forClient()).trustManager(trust);
    if (client != null) {
      b.keyManager(client.privateKey(), client.chainArray());
    }
    return NettyChannelBuilder.forAddress("127.0.0.1", s.port())
        .sslContext(b.build())
        .overrideAuthority(server.domain().domain())
        .build();
  }

  static void close(ManagedChannel ch) throws InterruptedException {
    ch.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
  }
}
