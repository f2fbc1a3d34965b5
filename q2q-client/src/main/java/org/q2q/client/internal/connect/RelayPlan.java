package org.q2q.client.internal.connect;

import io.netty.channel.Channel;
import io.netty.channel.EventLoop;
import java.util.concurrent.CompletableFuture;
import java.util.function.BiFunction;
import java.util.function.Supplier;
import org.q2q.client.Route;
import org.q2q.client.internal.relay.RelayChannel;
import org.q2q.proto.PresenceGrpc;
import org.q2q.proto.RelayRole;

/**
 * Reaching a listener through its presence server's relay: open a Relay stream as the connector
 * for the listener id (reach), then run the peer session's TLS over it (secure). Thread-safe.
 *
 * @param <S> the session type
 */
final class RelayPlan<S> extends ReachThenSecure<S> {
  private final Supplier<PresenceGrpc.PresenceStub> stub;
  private final EventLoop loop;
  private final String listenerId;

  /**
   * @param stub the relaying server's stub, asked for when the stream is opened
   * @param via the relaying server, as {@code host:port}
   */
  RelayPlan(Supplier<PresenceGrpc.PresenceStub> stub, EventLoop loop, String listenerId, String via,
      BiFunction<Channel, Route, CompletableFuture<S>> secure) {
    super(Route.relay(via), secure);
    this.stub = stub;
    this.loop = loop;
    this.listenerId = listenerId;
  }

  @Override
  protected CompletableFuture<RelayChannel> reach() {
    return RelayChannel.open(stub.get(), loop, listenerId, RelayRole.RELAY_ROLE_CONNECTOR, route().via());
  }
}
