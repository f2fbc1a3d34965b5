package org.q2q.client.internal.grpc;

import io.grpc.EquivalentAddressGroup;
import io.grpc.NameResolver;
import io.grpc.Status;
import io.grpc.StatusOr;
import io.grpc.SynchronizationContext;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Executor;
import org.q2q.client.ServerAddress;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Gives a gRPC channel the addresses of a domain's nodes ({@link ServerNodes}), in order, each DNS
 * name expanded to every address it resolves to. With gRPC's default {@code pick_first} policy the
 * channel then connects to the first address that answers, and after losing its connection starts
 * again from the first: a dead node is passed over (a closed port at once, a silent one after the
 * connect timeout), and a node that stopped answering on an open connection ({@link
 * ServerNodes#avoidCurrent}) is put last. Re-resolves when the known nodes change and when gRPC asks (every address
 * failed), so a name's new addresses are found.
 */
final class NodesNameResolver extends NameResolver {
  private static final Logger log = LoggerFactory.getLogger(NodesNameResolver.class);
  /** The target scheme of channels over a domain's nodes. */
  static final String SCHEME = "q2q-nodes";

  /** Makes the resolver for channels whose target is {@code q2q-nodes:///...}. */
  static final class Factory extends NameResolver.Factory {
    private final ServerNodes nodes;

    Factory(ServerNodes nodes) {
      this.nodes = nodes;
    }

    @Override
    public NameResolver newNameResolver(URI target, Args args) {
      return SCHEME.equals(target.getScheme()) ? new NodesNameResolver(nodes, args) : null;
    }

    @Override
    public String getDefaultScheme() {
      return SCHEME;
    }
  }

  private final ServerNodes nodes;
  private final SynchronizationContext sync;
  private final Executor offload;
  // Synchronization context only.
  private Listener2 listener;
  private Runnable unsubscribe;
  private boolean resolving;
  private boolean again;
  private boolean shutdown;

  private NodesNameResolver(ServerNodes nodes, Args args) {
    this.nodes = nodes;
    this.sync = args.getSynchronizationContext();
    // DNS blocks: resolve on gRPC's offload executor, never in the synchronization context
    this.offload = args.getOffloadExecutor() != null ? args.getOffloadExecutor() : Runnable::run;
  }

  @Override
  public String getServiceAuthority() {
    return nodes.domain().domain();
  }

  @Override
  public void start(Listener2 l) {
    this.listener = l;
    unsubscribe = nodes.onChange(() -> sync.execute(this::resolve));
    resolve();
  }

  @Override
  public void refresh() {
    resolve();
  }

  private void resolve() {
    if (shutdown || listener == null) {
      return;
    }
    if (resolving) {
      again = true;
      return;
    }
    resolving = true;
    List<ServerAddress> servers = nodes.all();
    offload.execute(() -> {
      List<InetSocketAddress> addresses = addresses(servers);
      sync.execute(() -> {
        resolving = false;
        if (shutdown) {
          return;
        }
        if (addresses.isEmpty()) {
          listener.onError(Status.UNAVAILABLE.withDescription("no server of " + nodes.domain() + " resolves: " + servers));
        } else {
          List<EquivalentAddressGroup> groups = new ArrayList<>();
          addresses.forEach(a -> groups.add(new EquivalentAddressGroup(a)));
          listener.onResult2(ResolutionResult.newBuilder().setAddressesOrError(StatusOr.fromValue(groups)).build());
        }
        if (again) {
          again = false;
          resolve();
        }
      });
    });
  }

  private List<InetSocketAddress> addresses(List<ServerAddress> servers) {
    Set<InetSocketAddress> out = new LinkedHashSet<>();
    for (ServerAddress s : servers) {
      try {
        for (InetAddress a : InetAddress.getAllByName(s.host())) {
          out.add(new InetSocketAddress(a, s.port()));
        }
      } catch (UnknownHostException | SecurityException e) {
        log.debug("{} cannot resolve the server {} of {}: {}", nodes.owner(), s, nodes.domain(), e.getMessage());
      }
    }
    // nodes that stopped answering go last (the order is otherwise kept)
    List<InetSocketAddress> ordered = new ArrayList<>();
    out.stream().filter(a -> !nodes.avoided(a)).forEach(ordered::add);
    out.stream().filter(nodes::avoided).forEach(ordered::add);
    return List.copyOf(ordered);
  }

  @Override
  public void shutdown() {
    shutdown = true;
    if (unsubscribe != null) {
      unsubscribe.run();
    }
  }
}
