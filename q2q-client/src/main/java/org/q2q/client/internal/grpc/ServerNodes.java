package org.q2q.client.internal.grpc;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ForwardingClientCall;
import io.grpc.ForwardingClientCallListener;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import org.q2q.certstore.Address;
import org.q2q.client.ServerAddress;
import org.q2q.client.internal.net.Ips;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The nodes of one domain's presence service that this client knows, in the order its channel
 * tries them: the nodes a node named (Nodes, the answering node first), then the configured ones
 * not among them, so a configured node is never forgotten because a node did not list it. Also
 * which node the channel talks to now: the remote address of its latest call ({@link #recorder}).
 *
 * <p>Kept in memory for the life of the channel. Safe for concurrent use.
 */
public final class ServerNodes {
  private static final Logger log = LoggerFactory.getLogger(ServerNodes.class);

  private final String owner;
  private final Address domain;
  private final List<ServerAddress> configured;
  private final List<Runnable> changeListeners = new CopyOnWriteArrayList<>();
  private volatile List<ServerAddress> learned = List.of();
  private volatile InetSocketAddress current;
  private volatile Consumer<InetSocketAddress> onNewNode = a -> {};
  /** Nodes that stopped answering: tried after the others until one of them answers again. */
  private final Set<InetSocketAddress> avoided = java.util.concurrent.ConcurrentHashMap.newKeySet();

  /** Nodes whose log lines start with the domain. */
  public ServerNodes(Address domain, List<ServerAddress> configured) {
    this(domain.domainAddress().toString(), domain, configured);
  }

  /**
   * @param owner who uses them, at the start of every log line (the client's address)
   * @param domain the domain these nodes serve
   * @param configured its configured servers, in the order to try them (not empty)
   */
  public ServerNodes(String owner, Address domain, List<ServerAddress> configured) {
    this.owner = Objects.requireNonNull(owner, "owner");
    this.domain = Objects.requireNonNull(domain, "domain").domainAddress();
    if (configured.isEmpty()) {
      throw new IllegalArgumentException("no server for " + domain);
    }
    this.configured = List.copyOf(configured);
  }

  /** Who uses them (for log lines). */
  String owner() {
    return owner;
  }

  /** The domain. */
  public Address domain() {
    return domain;
  }

  /** The configured servers, in order. */
  public List<ServerAddress> configured() {
    return configured;
  }

  /** Every known node, in the order to try them: learned ones first, then configured ones. */
  public List<ServerAddress> all() {
    Set<ServerAddress> out = new LinkedHashSet<>(learned);
    out.addAll(configured);
    return List.copyOf(out);
  }

  /**
   * Takes the live nodes a node named (the answering one first), dropping unusable entries (an
   * unspecified address, a port out of range).
   *
   * @return whether the known nodes changed
   */
  public boolean learn(List<org.q2q.proto.HostPort> nodes) {
    List<ServerAddress> usable = new ArrayList<>();
    for (org.q2q.proto.HostPort hp : nodes) {
      if (hp.getPort() < 1 || hp.getPort() > 65535 || hp.getHost().isEmpty()) {
        continue;
      }
      InetAddress ip = Ips.literal(hp.getHost());
      if (ip != null && (ip.isAnyLocalAddress() || ip.isMulticastAddress())) {
        continue;
      }
      try {
        usable.add(new ServerAddress(hp.getHost(), hp.getPort()));
      } catch (IllegalArgumentException e) {
        log.debug("{} ignoring the node {}:{} of {}: {}", owner, hp.getHost(), hp.getPort(), domain, e.getMessage());
      }
    }
    List<ServerAddress> before = learned;
    List<ServerAddress> after = List.copyOf(new LinkedHashSet<>(usable));
    if (after.equals(before)) {
      return false;
    }
    learned = after;
    log.info("{} nodes of {} now known: {}", owner, domain, all());
    changeListeners.forEach(Runnable::run);
    return true;
  }

  /**
   * The node the channel talks to now (an IP literal and port), or the first known node before
   * any call has reached one.
   */
  public ServerAddress current() {
    InetSocketAddress c = current;
    if (c != null && c.getAddress() != null) {
      return new ServerAddress(c.getAddress().getHostAddress(), c.getPort());
    }
    return all().get(0);
  }

  /**
   * Puts the node the channel talks to now after the others, because it stopped answering (its
   * connection may still look open, and it may still accept new ones): the next connection tries
   * the other nodes first. It takes its place again once a call reaches it.
   */
  public void avoidCurrent() {
    InetSocketAddress c = current;
    if (c != null && avoided.add(c)) {
      log.info("{} the node of {} at {} stopped answering: trying the other nodes first", owner, domain, text(c));
      changeListeners.forEach(Runnable::run);
    }
  }

  /** Whether {@code a} stopped answering ({@link #avoidCurrent}) and has not answered since. */
  boolean avoided(InetSocketAddress a) {
    return avoided.contains(a);
  }

  /** Runs {@code r} whenever the known nodes change (the name resolver re-resolves). */
  Runnable onChange(Runnable r) {
    changeListeners.add(r);
    return () -> changeListeners.remove(r);
  }

  /** Runs {@code c} (not on a gRPC thread that must not block) when the channel reaches another node. */
  void onNewNode(Consumer<InetSocketAddress> c) {
    this.onNewNode = Objects.requireNonNull(c, "onNewNode");
  }

  private void reached(SocketAddress a) {
    if (!(a instanceof InetSocketAddress isa)) {
      return;
    }
    avoided.remove(isa);
    if (isa.equals(current)) {
      return;
    }
    InetSocketAddress before = current;
    current = isa;
    if (before != null) {
      log.info("{} now talks to the node of {} at {} (was {})", owner, domain, text(isa), text(before));
    } else {
      log.debug("{} talks to the node of {} at {}", owner, domain, text(isa));
    }
    try {
      onNewNode.accept(isa);
    } catch (RuntimeException e) {
      log.debug("{} new-node hook of {} failed", owner, domain, e);
    }
  }

  private static String text(InetSocketAddress a) {
    return a.getAddress() == null ? a.toString() : new ServerAddress(a.getAddress().getHostAddress(), a.getPort()).toString();
  }

  /** An interceptor noting which node each call of the channel reached. */
  ClientInterceptor recorder() {
    return new ClientInterceptor() {
      @Override
      public <Q, R> ClientCall<Q, R> interceptCall(MethodDescriptor<Q, R> method, CallOptions options, Channel next) {
        return new ForwardingClientCall.SimpleForwardingClientCall<>(next.newCall(method, options)) {
          @Override
          public void start(Listener<R> listener, Metadata headers) {
            ClientCall<Q, R> call = this;
            super.start(new ForwardingClientCallListener.SimpleForwardingClientCallListener<>(listener) {
              @Override
              public void onHeaders(Metadata h) {
                reached(call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR));
                super.onHeaders(h);
              }

              @Override
              public void onClose(Status status, Metadata trailers) {
                if (fromServer(status)) { // an answer without headers first
                  reached(call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR));
                }
                super.onClose(status, trailers);
              }
            }, headers);
          }
        };
      }
    };
  }

  /** Whether {@code s} can only have come from the server (not made up here: cancelled, timed out, lost). */
  private static boolean fromServer(Status s) {
    return switch (s.getCode()) {
      case CANCELLED, DEADLINE_EXCEEDED, UNAVAILABLE, UNKNOWN, INTERNAL -> false;
      default -> true;
    };
  }

  @Override
  public String toString() {
    return domain + " " + all();
  }
}
