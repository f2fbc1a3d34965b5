package org.q2q.client.internal.accept;

import io.netty.channel.Channel;
import java.util.function.Consumer;
import org.q2q.certstore.Address;
import org.q2q.client.Route;
import org.q2q.client.internal.Futures;
import org.q2q.client.internal.peer.PeerSession;
import org.q2q.client.internal.peer.PeerSessions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What every transport a peer opens to us goes through, whichever acceptor took it: the peer
 * session as acceptor, its Hello's listener id claimed in {@link ListenerIds}, then the session
 * handed to the client (its cache). One place for the rule and its log lines. Thread-safe.
 */
public final class InboundSessions {
  private static final Logger log = LoggerFactory.getLogger(InboundSessions.class);

  private final Address self;
  private final PeerSessions sessions;
  private final ListenerIds ids;
  private final Consumer<PeerSession> established;

  /** @param established receives every session a peer opened to us (for the session cache) */
  public InboundSessions(Address self, PeerSessions sessions, ListenerIds ids, Consumer<PeerSession> established) {
    this.self = self;
    this.sessions = sessions;
    this.ids = ids;
    this.established = established;
  }

  /** This client's address (for log lines). */
  Address self() {
    return self;
  }

  /** The listener ids this client gave out. */
  ListenerIds ids() {
    return ids;
  }

  /**
   * Runs the peer session as acceptor on {@code transport}.
   *
   * @param expected the peer the server announced, or null when only the Hello's id tells
   * @param settled run once the handshake ended, either way (gives back a handshake place)
   */
  void accept(Channel transport, Address expected, Route route, Runnable settled) {
    sessions.accept(transport, expected, route, ids).whenComplete((s, e) -> {
      settled.run();
      if (e != null) {
        log.info("{} {} from {} refused or failed: {}", self, route, expected == null ? route.via() : expected,
            Futures.unwrap(e).getMessage());
      } else {
        log.info("{} session from {} established via {}", self, s.remoteAddress(), route);
        established.accept(s);
      }
    });
  }
}
