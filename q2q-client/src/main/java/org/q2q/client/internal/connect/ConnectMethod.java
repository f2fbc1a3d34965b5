package org.q2q.client.internal.connect;

import io.netty.channel.Channel;
import java.util.concurrent.CompletableFuture;
import org.q2q.client.Route;
import org.q2q.proto.ConnectionMethod;
import org.q2q.proto.Listener;

/**
 * The connecting side of one connection method kind: turns what a listener advertised in its
 * Inbound answer into attempts. The listening side of the same kind is a transport acceptor owned
 * by the client. Adding a kind means one class per side and a line in the connector's list.
 *
 * @param <S> what an attempt yields (a peer session)
 */
public interface ConnectMethod<S> {
  /** Starts the peer session (initiator) on a reached transport. */
  @FunctionalInterface
  interface Secure<S> {
    CompletableFuture<S> start(Channel transport, Route route, String listenerId);
  }

  /** The advertised kind this method takes. */
  ConnectionMethod.KindCase advertised();

  /** The route kind its attempts take. */
  Route.Kind kind();

  /**
   * When its attempts start, relative to other kinds: lower tiers first, one soft timeout apart
   * for each tier present (direct TCP 0, PTCP 1, relay 2).
   */
  int tier();

  /** Whether its attempts only wait for the peer (they start at once and take no stagger slot). */
  default boolean passive() {
    return false;
  }

  /**
   * The attempt for {@code listener}'s advertised {@code method} (of this kind), or null when an
   * attempt planned for an earlier method of the same listener covers this one too.
   */
  ConnectPlan<S> plan(Listener listener, ConnectionMethod method);
}
