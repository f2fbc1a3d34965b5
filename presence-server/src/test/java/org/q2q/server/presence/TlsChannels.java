package org.q2q.server.presence;

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
import org.q2q.server.PresenceServer;

/** Real mutual-TLS gRPC channels to a {@link PresenceServer} on 127.0.0.1, trusting only its CA. */
final class TlsChannels implements AutoCloseable {
  private final java.util.List<ManagedChannel> open = new java.util.concurrent.CopyOnWriteArrayList<>();

  /** A channel to {@code server} presenting {@code client}. */
  ManagedChannel open(PresenceServer server, Identity client) throws SSLException {
    return open(server, client, b -> {});
  }

  /** The same, with builder settings of the test's own (e.g. a small flow-control window). */
  ManagedChannel open(PresenceServer server, Identity client,
      java.util.function.Consumer<NettyChannelBuilder> customize) throws SSLException {
    AddressTrustManager trust = new AddressTrustManager(
        d -> d.equals(server.domain().domain()) ? Optional.of(server.ca().certificate()) : Optional.empty(),
        AddressTrustManager.AddressCheck.exactly(server.domain()),
        Clock.systemUTC());
    SslContextBuilder b = GrpcSslContexts.configure(SslContextBuilder.forClient()).trustManager(trust);
    if (client != null) {
      b.keyManager(client.privateKey(), client.chainArray());
    }
    NettyChannelBuilder nb = NettyChannelBuilder.forAddress("127.0.0.1", server.port())
        .sslContext(b.build())
        .overrideAuthority(server.domain().domain());
    customize.accept(nb);
    ManagedChannel ch = nb.build();
    open.add(ch);
    return ch;
  }

  @Override
  public void close() throws InterruptedException {
    for (ManagedChannel ch : open) {
      ch.shutdownNow();
    }
    for (ManagedChannel ch : open) {
      ch.awaitTermination(5, TimeUnit.SECONDS);
    }
  }
}
