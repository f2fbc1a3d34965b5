package org.q2q.server.internal.limits;

import io.grpc.netty.GrpcHttp2ConnectionHandler;
import io.grpc.netty.InternalProtocolNegotiator;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.AsciiString;
import java.time.Clock;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.q2q.server.internal.metrics.ServerMetrics;
import org.q2q.server.internal.metrics.ServerMetrics.Refusal;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Counts the server's connections per client network ({@link ClientNetwork}) and in all, and closes
 * a connection past either cap as soon as it is accepted, before any TLS work. It wraps the TLS
 * protocol negotiator: an admitted connection gets the TLS handler in its place. Refusals are
 * logged at most once a second (a flood must not flood the log). Safe for concurrent use.
 */
public final class ConnectionGate implements InternalProtocolNegotiator.ProtocolNegotiator {
  private static final Logger log = LoggerFactory.getLogger(ConnectionGate.class);

  private final InternalProtocolNegotiator.ProtocolNegotiator tls;
  private final int maxPerNetwork;
  private final int maxTotal;
  private final Map<String, AtomicInteger> perNetwork = new ConcurrentHashMap<>();
  private final AtomicInteger total = new AtomicInteger();
  private final AtomicInteger refused = new AtomicInteger();
  private final TokenBuckets warnings;
  private final ServerMetrics metrics;

  public ConnectionGate(InternalProtocolNegotiator.ProtocolNegotiator tls, int maxPerNetwork, int maxTotal,
      Clock clock, ServerMetrics metrics) {
    this.metrics = metrics;
    this.tls = tls;
    this.maxPerNetwork = maxPerNetwork;
    this.maxTotal = maxTotal;
    this.warnings = new TokenBuckets(1, 1, clock, 1);
  }

  @Override
  public AsciiString scheme() {
    return tls.scheme();
  }

  @Override
  public ChannelHandler newHandler(GrpcHttp2ConnectionHandler grpcHandler) {
    ChannelHandler next = tls.newHandler(grpcHandler);
    return new ChannelInboundHandlerAdapter() {
      @Override
      public void handlerAdded(ChannelHandlerContext ctx) {
        String network = ClientNetwork.of(ctx.channel().remoteAddress());
        String why = admit(network);
        if (why != null) {
          int n = refused.incrementAndGet();
          if (warnings.tryTake("refused")) {
            log.warn("{}: connection from {} closed: {} ({} refused so far)", ctx.channel().id(), network, why, n);
          }
          ctx.close();
          return;
        }
        ctx.channel().closeFuture().addListener(f -> release(network));
        ctx.pipeline().replace(this, null, next);
      }
    };
  }

  /** Counts a connection of {@code network}; null if admitted, else why not. */
  private String admit(String network) {
    if (total.incrementAndGet() > maxTotal) {
      total.decrementAndGet();
      metrics.refused(Refusal.CONNECTIONS_TOTAL);
      return maxTotal + " connections are open (the limit)";
    }
    boolean[] ok = {false};
    perNetwork.compute(network, (k, n) -> {
      AtomicInteger c = n != null ? n : new AtomicInteger();
      if (c.get() < maxPerNetwork) {
        c.incrementAndGet();
        ok[0] = true;
      }
      return c.get() == 0 ? null : c;
    });
    if (!ok[0]) {
      total.decrementAndGet();
      metrics.refused(Refusal.CONNECTIONS_PER_NETWORK);
      return "its network has " + maxPerNetwork + " connections open (the limit)";
    }
    return null;
  }

  private void release(String network) {
    perNetwork.computeIfPresent(network, (k, n) -> n.decrementAndGet() <= 0 ? null : n);
    total.decrementAndGet();
  }

  /** Connections open now. */
  public int open() {
    return total.get();
  }

  /** Connections closed at once because a cap was reached, since the start. */
  public int refused() {
    return refused.get();
  }

  @Override
  public void close() {
    tls.close();
  }
}
