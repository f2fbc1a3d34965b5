package org.q2q.client.internal.grpc;

import io.netty.channel.EventLoop;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import org.q2q.certstore.Address;
import org.q2q.certstore.CaPinStore;
import org.q2q.certstore.ServerChainCapture;
import org.q2q.certstore.Identity;
import org.q2q.client.ServerAddress;
import org.q2q.client.ServerLocator;
import org.q2q.proto.IdentifyRequest;
import org.q2q.proto.IdentifyResponse;
import org.q2q.proto.NodesRequest;
import org.q2q.proto.NodesResponse;
import org.q2q.proto.RegistrationGrpc;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The presence servers this client talks to, one gRPC channel per domain (with the client's
 * identity for mutual TLS) over the domain's nodes ({@link ServerNodes}: the configured ones, and
 * those the first node reached names when asked with Nodes), and the CAs it trusts for each
 * domain.
 *
 * <ul>
 *   <li>Own domain: the pinned CA, else the CA at the end of the identity's chain.
 *   <li>A foreign domain: its pinned CA; else it is learned with Identify from the domain's server
 *       and pinned (trust on first use, like SSH). The server's TLS chain seen on that call must
 *       validate against the CA it returned and name the domain, so an impostor server cannot
 *       hand out a CA other than the one that signed its own certificate.
 * </ul>
 *
 * Safe for concurrent use.
 */
public final class DomainServers implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(DomainServers.class);
  private static final long IDENTIFY_TIMEOUT_SECONDS = 15;
  private static final long NODES_TIMEOUT_SECONDS = 10;

  private final io.netty.channel.EventLoopGroup transports;
  private final Identity identity;
  private final CaPinStore pins; // null: remember CAs in memory only
  private final ServerLocator locator;
  private final Optional<String> ownServer;
  private final Clock clock;
  private final Executor blocking;
  private final Map<String, X509Certificate> cas = new ConcurrentHashMap<>();
  private final Map<String, CompletableFuture<X509Certificate>> learning = new ConcurrentHashMap<>();
  private final Map<String, Server> channels = new ConcurrentHashMap<>();
  private final Map<String, io.netty.handler.ssl.SslContext> relayContexts = new ConcurrentHashMap<>();
  /** Channels to one named node each ({@link #channelTo}), by "domain|host:port"; at most {@link #MAX_NODE_CHANNELS}. */
  private final Map<String, ManagedChannel> nodeChannels = new ConcurrentHashMap<>();
  /** A server names the nodes: this bounds what a confused or hostile one can make us open. */
  static final int MAX_NODE_CHANNELS = 16;

  /** A domain's server: its known nodes and the channel to them. */
  public record Server(Address domain, ServerNodes nodes, ManagedChannel channel, EventLoop loop) {
    /** The loop of the channel's transport if known, else any of {@code group}'s. */
    public EventLoop loopOr(io.netty.channel.EventLoopGroup group) {
      return loop != null ? loop : group.next();
    }

    /** The node the channel talks to now (its relay socket is on the same host). */
    public ServerAddress address() {
      return nodes.current();
    }
  }

  /**
   * @param pins where learned CAs are pinned (the client home), or null for memory only
   * @param ownServer the server remembered or given for the client's own address, if any
   * @param blocking runs the blocking Identify calls
   */
  public DomainServers(Identity identity, CaPinStore pins, ServerLocator locator, Optional<String> ownServer,
      Clock clock, Executor blocking) {
    this(identity, pins, locator, ownServer, clock, blocking, null);
  }

  /**
   * @param transports NIO event loops for the gRPC channels' transports (one loop per server, so
   *     relay channels can share it), or null for gRPC's own
   */
  public DomainServers(Identity identity, CaPinStore pins, ServerLocator locator, Optional<String> ownServer,
      Clock clock, Executor blocking, io.netty.channel.EventLoopGroup transports) {
    this.transports = transports;
    this.identity = identity;
    this.pins = pins;
    this.locator = locator;
    this.ownServer = ownServer;
    this.clock = clock;
    this.blocking = blocking;
    String own = identity.address().domain();
    X509Certificate ca = null;
    try {
      ca = pins == null ? null : pins.get(own).orElse(null);
    } catch (IOException e) {
      log.warn("{} cannot read the pinned CA of {}: {}", identity.address(), own, e.getMessage());
    }
    cas.put(own, ca != null ? ca : identity.caCertificate());
  }

  /** The trusted CA of {@code domain}, if known (the peer sessions' CA resolver). */
  public Optional<X509Certificate> caFor(String domain) {
    X509Certificate ca = cas.get(domain);
    if (ca != null) {
      return Optional.of(ca);
    }
    if (pins != null) {
      try {
        Optional<X509Certificate> pinned = pins.get(domain);
        pinned.ifPresent(c -> cas.put(domain, c));
        return pinned;
      } catch (IOException e) {
        log.warn("{} cannot read the pinned CA of {}: {}", identity.address(), domain, e.getMessage());
      }
    }
    return Optional.empty();
  }

  /**
   * Where {@code domain}'s servers are, in the order to try them (throws IllegalArgumentException
   * for a bad configuration).
   */
  public List<ServerAddress> locate(Address domain) {
    return locator.locate(domain.domainAddress(),
        domain.domain().equals(identity.address().domain()) ? ownServer : Optional.empty());
  }

  /** The channel to the client's own domain's server (created on first use). */
  public Server own() {
    Address d = identity.address().domainAddress();
    return channels.computeIfAbsent(d.domain(), k -> open(d, cas.get(d.domain())));
  }

  /**
   * The channel to {@code domain}'s server, learning and pinning the domain's CA first if needed.
   *
   * @return fails with an IOException (server unreachable, CA mismatch or not a CA for the domain)
   */
  public CompletableFuture<Server> server(Address domain) {
    return server(domain, IDENTIFY_TIMEOUT_SECONDS * 1000);
  }

  /** Like {@link #server(Address)}, with Identify (if needed) bounded by {@code timeoutMillis}. */
  public CompletableFuture<Server> server(Address domain, long timeoutMillis) {
    Address d = domain.domainAddress();
    Server s = channels.get(d.domain());
    if (s != null) {
      return CompletableFuture.completedFuture(s);
    }
    return learnCa(d, timeoutMillis).thenApply(ca -> channels.computeIfAbsent(d.domain(), k -> open(d, ca)));
  }

  /** The CA of {@code domain}: known, or learned by Identify and pinned (trust on first use). */
  public CompletableFuture<X509Certificate> learnCa(Address domain) {
    return learnCa(domain, IDENTIFY_TIMEOUT_SECONDS * 1000);
  }

  /** Like {@link #learnCa(Address)}, with Identify bounded by {@code timeoutMillis} (at most 15 s). */
  public CompletableFuture<X509Certificate> learnCa(Address domain, long timeoutMillis) {
    Optional<X509Certificate> known = caFor(domain.domain());
    if (known.isPresent()) {
      return CompletableFuture.completedFuture(known.get());
    }
    long bound = Math.max(1, Math.min(timeoutMillis, IDENTIFY_TIMEOUT_SECONDS * 1000));
    return learning.computeIfAbsent(domain.domain(), k -> {
      CompletableFuture<X509Certificate> f = CompletableFuture.supplyAsync(() -> identify(domain, bound), blocking);
      f.whenComplete((ca, e) -> learning.remove(k));
      return f;
    });
  }

  private X509Certificate identify(Address domain, long timeoutMillis) {
    ServerNodes where = new ServerNodes(identity.address().toString(), domain, locate(domain));
    // the extended trust manager of registration (review L10: a plain X509TrustManager got the JDK
    // provider's HTTPS host-name check added, BoringSSL's not)
    ServerChainCapture capture = new ServerChainCapture(domain, true);
    ManagedChannel ch = PresenceChannels.open(where, capture, null, null);
    try {
      IdentifyResponse r = RegistrationGrpc.newBlockingStub(ch)
          .withDeadlineAfter(timeoutMillis, TimeUnit.MILLISECONDS)
          .identify(IdentifyRequest.newBuilder().setSubject(domain.domain()).build());
      X509Certificate ca = capture.verifyIdentified(r.getCaCertificate().toByteArray(), r.getDomain(), clock.instant());
      if (pins != null) {
        if (pins.verifyOrPin(domain.domain(), ca, null)) {
          log.info("{} pinned the CA of {} learned from {} (trust on first use)", identity.address(), domain,
              where.current());
        }
      }
      cas.put(domain.domain(), ca);
      return ca;
    } catch (StatusRuntimeException e) {
      throw new java.util.concurrent.CompletionException(new IOException(
          "cannot learn the CA of " + domain + " from its server at " + describe(where) + ": " + e.getStatus().getCode()
              + (e.getStatus().getDescription() == null ? "" : " (" + e.getStatus().getDescription() + ")"), e));
    } catch (Exception e) {
      throw new java.util.concurrent.CompletionException(new IOException(
          "cannot trust the server of " + domain + " at " + describe(where) + ": " + e.getMessage(), e));
    } finally {
      ch.shutdownNow();
    }
  }

  /** One node as "host:port", several as "host:port or host:port". */
  private static String describe(ServerNodes nodes) {
    return String.join(" or ", nodes.all().stream().map(ServerAddress::toString).toList());
  }

  private Server open(Address domain, X509Certificate ca) {
    ServerNodes nodes = new ServerNodes(identity.address().toString(), domain, locate(domain));
    EventLoop loop = transports == null ? null : transports.next();
    ManagedChannel ch = PresenceChannels.open(nodes, PresenceChannels.trustingCa(domain, ca, clock), identity, loop);
    nodes.onNewNode(node -> askNodes(nodes, ch));
    log.debug("{} channel to the server of {} at {}", identity.address(), domain, nodes);
    return new Server(domain, nodes, ch, loop);
  }

  /**
   * Asks the node the channel just reached for the domain's other live nodes, so that the channel
   * can move to one of them when this node goes away. A server without Nodes (an older one) leaves
   * the configured nodes as they are.
   */
  private void askNodes(ServerNodes nodes, ManagedChannel ch) {
    RegistrationGrpc.newStub(ch).withDeadlineAfter(NODES_TIMEOUT_SECONDS, TimeUnit.SECONDS)
        .nodes(NodesRequest.getDefaultInstance(), new StreamObserver<>() {
          @Override
          public void onNext(NodesResponse r) {
            nodes.learn(r.getNodesList());
          }

          @Override
          public void onError(Throwable t) {
            Status s = Status.fromThrowable(t);
            if (s.getCode() == Status.Code.UNIMPLEMENTED) {
              log.debug("{} the server of {} does not list its nodes; keeping {}", identity.address(), nodes.domain(),
                  nodes.configured());
            } else {
              log.debug("{} asking the server of {} for its nodes failed: {}", identity.address(), nodes.domain(),
                  s.getCode());
            }
          }

          @Override
          public void onCompleted() {}
        });
  }

  /**
   * The TLS context for the relay socket of {@code server}: this client's identity, the server
   * verified as for its gRPC channel (its domain's CA, its domain's address).
   */
  public io.netty.handler.ssl.SslContext relaySocketTls(Server server) {
    return relayContexts.computeIfAbsent(server.domain().domain(), d -> PresenceChannels.relaySocketContext(
        PresenceChannels.trustingCa(server.domain(), cas.get(d), clock), identity));
  }

  /**
   * A channel to {@code node} of {@code server}'s domain alone: {@code server}'s own channel when
   * that is the node it talks to now. Why: in a domain of several nodes, a listener's relay is at
   * the node holding its session, which the others do not forward Relay streams to; the relay's
   * Relay RPC must be opened there. Channels to other nodes are kept for later connections (gRPC
   * idles them), at most {@value #MAX_NODE_CHANNELS}; past that, {@code server}'s channel.
   */
  public ManagedChannel channelTo(Server server, ServerAddress node) {
    if (node.equals(server.address())) {
      return server.channel();
    }
    String key = server.domain().domain() + "|" + node;
    ManagedChannel known = nodeChannels.get(key);
    if (known != null) {
      return known;
    }
    synchronized (nodeChannels) {
      if (!nodeChannels.containsKey(key) && nodeChannels.size() >= MAX_NODE_CHANNELS) {
        log.debug("{} already holds {} channels to single nodes; relaying through {} instead of {}",
            identity.address(), MAX_NODE_CHANNELS, server.address(), node);
        return server.channel();
      }
      return nodeChannels.computeIfAbsent(key, k -> {
        log.debug("{} channel to the node {} of {}", identity.address(), node, server.domain());
        return PresenceChannels.open(new ServerNodes(identity.address().toString(), server.domain(), List.of(node)),
            PresenceChannels.trustingCa(server.domain(), cas.get(server.domain().domain()), clock), identity,
            server.loop());
      });
    }
  }

  @Override
  public void close() {
    channels.values().forEach(s -> s.channel().shutdownNow());
    channels.clear();
    synchronized (nodeChannels) {
      nodeChannels.values().forEach(ManagedChannel::shutdownNow);
      nodeChannels.clear();
    }
  }
}
