package org.q2q.client.internal.presence;

import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.q2q.certstore.Address;
import org.q2q.client.AcceptPolicy;
import org.q2q.client.ChannelHandler;
import org.q2q.client.ChannelResetException;
import org.q2q.client.VirtualChannel;
import org.q2q.client.internal.peer.ChannelAcceptor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The services this client listens for, with their accept policies and handlers. Consulted both
 * for the server's Inbound queries and for channels a peer opens on an existing session, so a
 * policy cannot be bypassed by reusing a session. Safe for concurrent use.
 */
public final class LocalListeners {
  private static final Logger log = LoggerFactory.getLogger(LocalListeners.class);

  /** One listening service. */
  public record Listening(String service, String description, AcceptPolicy policy, ChannelHandler handler) {}

  private final Map<String, Listening> byService = new ConcurrentHashMap<>();
  private final HandlerExecutor handlerExecutor;

  /** @param handlerExecutor runs the applications' handlers (never an event loop), bounded */
  public LocalListeners(HandlerExecutor handlerExecutor) {
    this.handlerExecutor = handlerExecutor;
  }

  /**
   * Adds a listener.
   *
   * @throws IllegalStateException if the service already has one
   */
  public void add(Listening l) {
    if (byService.putIfAbsent(l.service(), l) != null) {
      throw new IllegalStateException("already listening for service '" + l.service() + "'");
    }
  }

  /** Removes the listener {@code l} (only if still registered). */
  public void remove(Listening l) {
    byService.remove(l.service(), l);
  }

  /** The listener of {@code service}. */
  public Optional<Listening> get(String service) {
    return Optional.ofNullable(byService.get(service));
  }

  /** Whether {@code from} may reach {@code service}: a decline names why. */
  public AcceptPolicy.Decision decide(Address from, String service) {
    Listening l = byService.get(service);
    if (l == null) {
      return AcceptPolicy.Decision.decline("no listener for service '" + service + "' here");
    }
    try {
      return l.policy().decide(from, service);
    } catch (RuntimeException e) {
      log.warn("accept policy of '{}' threw for {}", service, from, e);
      return AcceptPolicy.Decision.decline("the listener's accept policy failed");
    }
  }

  /**
   * The channel acceptor of every peer session: unknown services are refused with
   * NO_SUCH_SERVICE, declined peers with REFUSED, and accepted channels go to their handler on
   * the handler executor; when it has no room for the peer, the channel is refused (REFUSED).
   */
  public ChannelAcceptor acceptor() {
    return ch -> {
      Listening l = byService.get(ch.service());
      if (l == null) {
        return false;
      }
      AcceptPolicy.Decision d = decide(ch.remoteAddress(), ch.service());
      if (!d.accepted()) {
        log.info("{} channel {} for '{}' declined: {}", ch.remoteAddress(), ch.id(), ch.service(), d.reason());
        throw new SecurityException(d.reason());
      }
      handlerExecutor.execute(ch.remoteAddress(), () -> run(l, ch), () -> dropped(ch));
      return true;
    };
  }

  /** The channel waited for a handler thread that never came (closing, or every slot taken). */
  private static void dropped(VirtualChannel ch) {
    log.info("{} channel {} for '{}' dropped: no handler thread", ch.remoteAddress(), ch.id(), ch.service());
    try {
      ch.reset("busy");
    } catch (RuntimeException gone) {
      log.debug("{} channel {} could not be reset: {}", ch.remoteAddress(), ch.id(), gone.toString());
    }
  }

  /** The reset sent by the peer that {@code e} is, or is caused by; null if none. */
  private static ChannelResetException resetByPeer(Throwable e) {
    for (Throwable c = e; c != null; c = c.getCause() == c ? null : c.getCause()) {
      if (c instanceof ChannelResetException r && r.byPeer()) {
        return r;
      }
    }
    return null;
  }

  private static void run(Listening l, VirtualChannel ch) {
    try {
      l.handler().accepted(ch);
    } catch (Exception | Error e) {
      ChannelResetException reset = resetByPeer(e);
      if (reset != null) { // the peer ended the channel: the handler's failure is the news of that, not a bug
        log.info("{} channel {} handler of '{}' ended: {}", ch.remoteAddress(), ch.id(), l.service(), reset.getMessage());
        return;
      }
      log.warn("{} channel {} handler of '{}' failed", ch.remoteAddress(), ch.id(), l.service(), e);
      try {
        ch.reset("the listener failed"); // no class name or message to the peer: they are ours
      } catch (RuntimeException gone) {
        log.debug("{} channel {} could not be reset: {}", ch.remoteAddress(), ch.id(), gone.toString());
      }
    }
  }
}
