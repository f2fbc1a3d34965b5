package org.q2q.client.internal.connect;

import io.netty.channel.Channel;
import io.netty.channel.EventLoop;
import io.netty.handler.ssl.SslContext;
import java.util.concurrent.CompletableFuture;
import java.util.function.BiFunction;
import org.q2q.client.Route;
import org.q2q.client.ServerAddress;
import org.q2q.client.internal.relay.RelaySocket;
import org.q2q.proto.RelayRole;

/**
 * Reaching a listener through its presence server's relay socket: connect as the connector for
 * the listener id and wait for the splice (reach), then run the peer session's TLS over the raw
 * socket (secure). Thread-safe.
 *
 * @param <S> the session type
 */
final class RelaySocketPlan<S> extends ReachThenSecure<S> {
  private final EventLoop loop;
  private final ServerAddress server;
  private final int port;
  private final SslContext tls;
  private final String listenerId;

  RelaySocketPlan(EventLoop loop, ServerAddress server, int port, SslContext tls, String listenerId,
      BiFunction<Channel, Route, CompletableFuture<S>> secure) {
    super(Route.relay(server.toString()), secure);
    this.loop = loop;
    this.server = server;
    this.port = port;
    this.tls = tls;
    this.listenerId = listenerId;
  }

  @Override
  protected CompletableFuture<Channel> reach() {
    return RelaySocket.open(loop, server, port, tls, listenerId, RelayRole.RELAY_ROLE_CONNECTOR);
  }
}
