package org.q2q.client.internal.connect;

import io.netty.channel.Channel;
import io.netty.channel.EventLoop;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;
import org.q2q.client.internal.relay.RelayChannel;
import org.q2q.proto.PresenceGrpc;
import org.q2q.proto.RelayRole;

/**
 * Reaching a listener through its presence server's relay: open a Relay stream as the connector
 * for the listener id (reach), then run the peer session's TLS over it (secure). Thread-safe.
 *
 * @param <S> the session type
 */
public final class RelayPlan<S> implements ConnectPlan<S> {
  private final PresenceGrpc.PresenceStub stub;
  private final EventLoop loop;
  private final String listenerId;
  private final String via;
  private final Function<Channel, CompletableFuture<S>> secure;
  private volatile boolean cancelled;
  private volatile CompletableFuture<RelayChannel> reaching;
  private volatile CompletableFuture<S> securing;

  /**
   * @param via the relaying server, as {@code host:port}
   * @param secure starts the peer session (initiator) on the reached transport
   */
  public RelayPlan(PresenceGrpc.PresenceStub stub, EventLoop loop, String listenerId, String via,
      Function<Channel, CompletableFuture<S>> secure) {
    this.stub = stub;
    this.loop = loop;
    this.listenerId = listenerId;
    this.via = via;
    this.secure = secure;
  }

  @Override
  public String method() {
    return "relay via " + via;
  }

  @Override
  public CompletableFuture<S> attempt() {
    reaching = RelayChannel.open(stub, loop, listenerId, RelayRole.RELAY_ROLE_CONNECTOR, via);
    return reaching.thenCompose(ch -> {
      if (cancelled) {
        ch.close();
        return CompletableFuture.failedFuture(new java.util.concurrent.CancellationException("cancelled"));
      }
      securing = secure.apply(ch);
      securing.whenComplete((s, e) -> {
        if (e != null) {
          ch.close();
        }
      });
      return securing;
    });
  }

  @Override
  public void cancel() {
    cancelled = true;
    CompletableFuture<RelayChannel> r = reaching;
    if (r != null) {
      r.thenAccept(Channel::close);
    }
    CompletableFuture<S> s = securing;
    if (s != null) {
      s.cancel(false);
    }
  }
}
