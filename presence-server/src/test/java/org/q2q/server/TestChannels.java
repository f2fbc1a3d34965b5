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
    return open(s, client, null);
  }

  /**
   * The same from the local address {@code from} (e.g. 127.0.0.2, another client network on
   * Linux's loopback), or any if null.
   */
  static ManagedChannel open(LoopbackServer s, Identity client, String from) throws SSLException {
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
    NettyChannelBuilder nb = NettyChannelBuilder.forAddress("127.0.0.1", s.port())
        .sslContext(b.build())
        .overrideAuthority(server.domain().domain());
    if (from != null) {
      nb.localSocketPicker(new NettyChannelBuilder.LocalSocketPicker() {
        @Override
        public java.net.InetSocketAddress createSocketAddress(java.net.SocketAddress remote, io.grpc.Attributes attrs) {
          return new java.net.InetSocketAddress(from, 0);
        }
      });
    }
    return nb.build();
  }

  /**
   * An Inbound for {@code to}'s "file" service from {@code s}'s client presenting {@code from} (the
   * server checks the certificate on every Presence call), on a channel of its own.
   */
  static void inbound(LoopbackServer s, Identity from, org.q2q.certstore.Address to) throws Exception {
    ManagedChannel ch = open(s, from);
    try {
      org.q2q.proto.PresenceGrpc.newBlockingStub(ch).withDeadlineAfter(java.time.Duration.ofSeconds(10))
          .inbound(org.q2q.proto.InboundRequest.newBuilder().setTo(to.toString()).setService("file").build());
    } finally {
      close(ch);
    }
  }

  static void close(ManagedChannel ch) throws InterruptedException {
    ch.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
  }
}
