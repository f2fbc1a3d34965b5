package org.q2q.ptcp.bench;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollDatagramChannel;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.nio.NioDatagramChannel;
import io.netty.handler.codec.quic.InsecureQuicTokenHandler;
import io.netty.handler.codec.quic.QuicChannel;
import io.netty.handler.codec.quic.QuicClientCodecBuilder;
import io.netty.handler.codec.quic.QuicCodecBuilder;
import io.netty.handler.codec.quic.QuicCongestionControlAlgorithm;
import io.netty.handler.codec.quic.QuicServerCodecBuilder;
import io.netty.handler.codec.quic.QuicSslContext;
import io.netty.handler.codec.quic.QuicSslContextBuilder;
import io.netty.handler.codec.quic.QuicStreamChannel;
import io.netty.handler.codec.quic.QuicStreamType;
import java.math.BigInteger;
import java.net.InetSocketAddress;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.util.Date;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.X509TrustManager;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * The Netty QUIC (quiche) side of {@link PtcpBench}: a sink that counts one bidirectional stream's
 * bytes and answers with the count, and a client that sends up to BYTES for at most SECONDS over one
 * stream. Same datagram size (1452) and flow-control budget (16 MiB per stream) as the PTCP
 * benchmark config; congestion control CUBIC (quiche's default) or BBR. Not a test.
 */
final class QuicBench {
  static final String ALPN = "q2q-bench";
  static final long WINDOW = 16 << 20;
  static final int DATAGRAM = 1452;

  private QuicBench() {}

  /** The self-signed certificate the sinks present; the client trusts exactly it. */
  static final class Cert {
    static final KeyPair KEYS;
    static final X509Certificate CERT;

    static {
      try {
        // A fixed benchmark key (seeded generator) so the sink and client processes agree on it
        // without a file; the client pins the public key. Not a secret, never used outside the bench.
        SecureRandom seeded = SecureRandom.getInstance("SHA1PRNG");
        seeded.setSeed("q2q-ptcp-bench".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(new ECGenParameterSpec("secp256r1"), seeded);
        KEYS = g.generateKeyPair();
        X500Name name = new X500Name("CN=q2q-bench");
        long now = System.currentTimeMillis();
        JcaX509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(name, BigInteger.valueOf(now),
            new Date(now - 60_000), new Date(now + 86_400_000L), name, KEYS.getPublic());
        CERT = new JcaX509CertificateConverter()
            .getCertificate(b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(KEYS.getPrivate())));
      } catch (Exception e) {
        throw new ExceptionInInitializerError(e);
      }
    }
  }

  /** Trusts exactly the sinks' key (no CA, no host name: the benchmark pins it). */
  static final class PinnedTrust implements X509TrustManager {
    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
      throw new CertificateException("no client certificates expected");
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
      if (chain == null || chain.length == 0 || !chain[0].getPublicKey().equals(Cert.KEYS.getPublic())) {
        throw new CertificateException("not the benchmark sink's certificate");
      }
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
      return new X509Certificate[0];
    }
  }

  static <B extends QuicCodecBuilder<B>> B tune(B b, QuicCongestionControlAlgorithm cc) {
    return b.congestionControlAlgorithm(cc)
        .maxIdleTimeout(60, TimeUnit.SECONDS)
        .maxSendUdpPayloadSize(DATAGRAM)
        .maxRecvUdpPayloadSize(DATAGRAM)
        .initialMaxData(2 * WINDOW)
        .initialMaxStreamDataBidirectionalLocal(WINDOW)
        .initialMaxStreamDataBidirectionalRemote(WINDOW)
        .initialMaxStreamsBidirectional(16);
  }

  static Bootstrap udp(EventLoopGroup g) {
    return new Bootstrap().group(g)
        .channel(Epoll.isAvailable() ? EpollDatagramChannel.class : NioDatagramChannel.class)
        .option(ChannelOption.SO_RCVBUF, 8 << 20)
        .option(ChannelOption.SO_SNDBUF, 8 << 20);
  }

  /** Starts a sink on {@code at} with congestion control {@code cc}. */
  static Channel startServer(EventLoopGroup g, InetSocketAddress at, QuicCongestionControlAlgorithm cc)
      throws Exception {
    QuicSslContext ssl = QuicSslContextBuilder.forServer(Cert.KEYS.getPrivate(), null, Cert.CERT)
        .applicationProtocols(ALPN).build();
    ChannelHandler codec = tune(new QuicServerCodecBuilder(), cc)
        .sslContext(ssl)
        .tokenHandler(InsecureQuicTokenHandler.INSTANCE)
        // Shared by every accepted QUIC connection, so it must be @Sharable (a ChannelInitializer is):
        // a plain adapter instance made every connection after the first fail its handshake.
        .handler(new ChannelInitializer<QuicChannel>() {
          @Override
          protected void initChannel(QuicChannel ch) {}
        })
        .streamOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
        .streamHandler(new ChannelInitializer<QuicStreamChannel>() {
          @Override
          protected void initChannel(QuicStreamChannel ch) {
            ch.pipeline().addLast(new ChannelInboundHandlerAdapter() {
              long count;
              boolean answered;

              @Override
              public void channelRead(ChannelHandlerContext ctx, Object msg) {
                ByteBuf b = (ByteBuf) msg;
                count += b.readableBytes();
                b.release();
              }

              @Override
              public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
                if (evt instanceof ChannelInputShutdownEvent && !answered) {
                  answered = true;
                  ctx.writeAndFlush(Unpooled.buffer(8).writeLong(count))
                      .addListener(f -> ((QuicStreamChannel) ctx.channel()).shutdownOutput());
                }
              }
            });
          }
        })
        .build();
    return udp(g).handler(codec).bind(at).sync().channel();
  }

  /** Sends up to {@code bytes} for at most {@code seconds}; returns goodput in MB/s. */
  static double run(EventLoopGroup g, InetSocketAddress to, long bytes, double seconds,
      QuicCongestionControlAlgorithm cc) throws Exception {
    QuicSslContext ssl = QuicSslContextBuilder.forClient().trustManager(new PinnedTrust())
        .endpointIdentificationAlgorithm(null).applicationProtocols(ALPN).build();
    ChannelHandler codec = tune(new QuicClientCodecBuilder(), cc).sslContext(ssl).build();
    InetSocketAddress local = new InetSocketAddress(to.getAddress().isLoopbackAddress() ? "127.0.0.1" : "0.0.0.0", 0);
    Channel udp = udp(g).handler(codec).bind(local).sync().channel();
    ByteBuf chunk = BulkSender.randomChunk(PtcpBench.CHUNK);
    CompletableFuture<Long> answer = new CompletableFuture<>();
    long t0 = System.nanoTime();
    long deadline = t0 + (long) (seconds * 1e9);
    QuicChannel quic = null;
    try {
      quic = QuicChannel.newBootstrap(udp).handler(new ChannelInboundHandlerAdapter())
          .streamHandler(new ChannelInboundHandlerAdapter()).remoteAddress(to).connect().get(30, TimeUnit.SECONDS);
      quic.createStream(QuicStreamType.BIDIRECTIONAL, new BulkSender(chunk, bytes, deadline, answer,
          c -> ((QuicStreamChannel) c).shutdownOutput())).sync();
      long got = answer.get((long) seconds + 120, TimeUnit.SECONDS);
      return got / ((System.nanoTime() - t0) / 1e9) / 1e6;
    } finally {
      if (quic != null) {
        quic.close().sync();
      }
      udp.close().sync();
      chunk.release();
    }
  }
}
