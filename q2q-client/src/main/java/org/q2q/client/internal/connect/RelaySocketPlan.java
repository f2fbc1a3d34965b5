package org.q2q.client.internal.connect;

import io.netty.channel.Channel;
import io.netty.channel.EventLoop;
import io.netty.handler.ssl.SslContext;
import java.util.concurrent.CompletableFuture;
import java.util.function.BiFunction;
import java.util.function.Supplier;
import org.q2q.client.Route;
import org.q2q.client.ServerAddress;
import org.q2q.client.internal.relay.RelaySocket;
import org.q2q.proto.RelayRole;

/**
 * Reaching a listener through its presence server's relay socket: connect as the connector for
 * the listener id and wait for the splice (reach), then run the peer session's TLS over the raw
 * socket (secure). A socket port that cannot be reached at all (a firewall that passes only the
 * gRPC port) falls back to a Relay stream: the listener id was not used yet. Thread-safe.
 *
 * @param <S> the session type
 */
final class RelaySocketPlan<S> extends ReachThenSecure<S> {
  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(RelaySocketPlan.class);
  private final EventLoop loop;
  private final ServerAddress server;
  private final int port;
  /** Built when the attempt starts: a relay planned behind faster methods often never does (~100 ms cold). */
  private final Supplier<SslContext> tls;
  private final String listenerId;
  private final Supplier<CompletableFuture<? extends Channel>> fallback;

  /** @param fallback opens a Relay stream instead, if the socket cannot be reached */
  RelaySocketPlan(EventLoop loop, ServerAddress server, int port, Supplier<SslContext> tls, String listenerId,
      Supplier<CompletableFuture<? extends Channel>> fallback, BiFunction<Channel, Route, CompletableFuture<S>> secure) {
    super(Route.relay(server.toString()), secure);
    this.loop = loop;
    this.server = server;
    this.port = port;
    this.tls = tls;
    this.listenerId = listenerId;
    this.fallback = fallback;
  }

  @Override
  protected CompletableFuture<Channel> reach() {
    SslContext context;
    try {
      context = tls.get();
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
    CompletableFuture<Channel> socket = RelaySocket.open(loop, server, port, context, listenerId,
        RelayRole.RELAY_ROLE_CONNECTOR);
    CompletableFuture<Channel> out = socket.handle((ch, e) -> {
      if (e == null) {
        return CompletableFuture.completedFuture(ch);
      }
      Throwable c = e instanceof java.util.concurrent.CompletionException && e.getCause() != null ? e.getCause() : e;
      if (c instanceof RelaySocket.UnreachableException) {
        log.info("{}; relaying through gRPC instead", c.getMessage());
        return fallback.get().thenApply(Channel.class::cast);
      }
      return CompletableFuture.<Channel>failedFuture(c);
    }).thenCompose(f -> f);
    out.whenComplete((ch, e) -> {
      if (out.isCancelled()) {
        socket.cancel(false);
      }
    });
    return out;
  }
}
