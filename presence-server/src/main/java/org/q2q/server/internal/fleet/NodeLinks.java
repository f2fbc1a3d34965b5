package org.q2q.server.internal.fleet;

import io.grpc.ManagedChannel;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import io.netty.handler.ssl.SslContext;
import java.security.cert.X509Certificate;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import javax.net.ssl.SSLException;
import org.q2q.certstore.Address;
import org.q2q.certstore.Identity;
import org.q2q.proto.NodeLinkGrpc;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * gRPC channels from this node to the domain's other nodes, one per node, opened on first use.
 * Mutual TLS: this node presents its server certificate (issued by the domain CA, naming the
 * domain), and accepts only a peer whose certificate the domain CA issued for the domain's name, so
 * whatever host a node advertises, a link is between two nodes of the domain. A channel is rebuilt
 * when this node's certificate has been renewed. Safe for concurrent use.
 */
public final class NodeLinks implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(NodeLinks.class);

  private record Link(ManagedChannel channel, Identity presented) {}

  private final Address domain;
  private final X509Certificate ca;
  private final Supplier<Identity> identity;
  private final Executor executor;
  private final Map<String, Link> links = new ConcurrentHashMap<>();
  private volatile boolean closed;

  /**
   * @param identity this node's current certificate and key (the server's, renewed in place)
   * @param executor where the links' calls complete
   */
  public NodeLinks(Address domain, X509Certificate ca, Supplier<Identity> identity, Executor executor) {
    this.domain = domain;
    this.ca = ca;
    this.identity = identity;
    this.executor = executor;
  }

  /** A stub on the link to {@code node}. */
  public NodeLinkGrpc.NodeLinkFutureStub stub(Node node) {
    if (closed) {
      throw new IllegalStateException("node links closed");
    }
    Identity now = identity.get();
    Link link = links.compute(node.id(), (id, old) -> {
      if (old != null && old.presented() == now && !old.channel().isShutdown()) {
        return old;
      }
      if (old != null) {
        old.channel().shutdown();
      }
      return new Link(open(node, now), now);
    });
    return NodeLinkGrpc.newFutureStub(link.channel());
  }

  /**
   * Closes the links to nodes not in {@code live}. Why: node ids are per process, so every restart
   * of a node would otherwise leave a channel (and its reconnect attempts) behind for good.
   */
  public void retainOnly(java.util.Collection<Node> live) {
    java.util.Set<String> ids = new java.util.HashSet<>();
    live.forEach(n -> ids.add(n.id()));
    links.entrySet().removeIf(e -> {
      if (ids.contains(e.getKey())) {
        return false;
      }
      log.debug("closing the link to node {}, which left", e.getKey());
      e.getValue().channel().shutdown();
      return true;
    });
  }

  private ManagedChannel open(Node node, Identity id) {
    SslContext tls;
    try {
      tls = GrpcSslContexts.forClient()
          .keyManager(id.privateKey(), id.chain().toArray(X509Certificate[]::new))
          .trustManager(ca)
          .build();
    } catch (SSLException e) {
      throw new IllegalStateException("cannot build the node link's TLS context: " + e.getMessage(), e);
    }
    log.debug("opening the link to {}", node);
    return NettyChannelBuilder.forAddress(node.host(), node.grpcPort())
        .sslContext(tls)
        // every node's certificate names the domain; the host it advertises need not be in it
        .overrideAuthority(domain.domain())
        .executor(executor)
        .keepAliveTime(30, TimeUnit.SECONDS)
        .build();
  }

  @Override
  public void close() {
    closed = true;
    links.values().forEach(l -> l.channel().shutdownNow());
    links.clear();
  }
}
