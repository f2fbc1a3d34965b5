package org.q2q.server.internal.fleet;

import com.google.common.util.concurrent.FutureCallback;
import com.google.common.util.concurrent.Futures;
import com.google.common.util.concurrent.MoreExecutors;
import com.google.protobuf.ByteString;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.q2q.certstore.Address;
import org.q2q.proto.BindUdpRequest;
import org.q2q.proto.BindUdpResponse;
import org.q2q.proto.HostPort;
import org.q2q.proto.InboundRequest;
import org.q2q.proto.InboundResponse;
import org.q2q.proto.NodeBindUdpRequest;
import org.q2q.proto.NodeInboundRequest;
import org.q2q.proto.NodeLinkGrpc;
import org.q2q.server.internal.presence.Caller;
import org.q2q.server.internal.presence.ListenerTickets;
import org.q2q.server.internal.presence.OtherNodes;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The other nodes of this node's domain, as presence sees them: the {@link NodeDirectory} says who
 * listens where, the {@link NodeLinks} carry forwarded Inbound and BindUdp calls.
 *
 * <ul>
 *   <li>An Inbound is forwarded to every live node holding (to, service), with the caller's chain,
 *       and given the listeners' answer time plus a margin. A node that cannot be reached, or no
 *       longer holds the pair, counts as holding none: an Inbound for an address whose node just
 *       died fails fast with NOT_FOUND, not after a timeout.
 *   <li>A listener id starts with the id of the node that issued it; a BindUdp with another node's
 *       id goes to that node (NOT_FOUND if it is no longer live).
 *   <li>Who listens where is read from the directory's memory, never from the database on the
 *       Inbound path; if the database cannot be read for a while, that memory grows stale.
 * </ul>
 */
public final class Fleet implements OtherNodes {
  private static final Logger log = LoggerFactory.getLogger(Fleet.class);
  /** Time a forwarded call may take beyond what the listeners are given (two hops on a LAN). */
  private static final Duration MARGIN = Duration.ofSeconds(2);

  private final NodeDirectory directory;
  private final NodeLinks links;
  /** The live-node list the links were last pruned to (compared by identity). */
  private volatile List<Node> linksPrunedFor;
  private final Duration answerTimeout;

  public Fleet(NodeDirectory directory, NodeLinks links, Duration answerTimeout) {
    this.directory = directory;
    this.links = links;
    this.answerTimeout = answerTimeout;
  }

  @Override
  public String ticketPrefix() {
    return directory.ticketPrefix();
  }

  @Override
  public Optional<HostPort> self() {
    return Optional.of(directory.self().grpc());
  }

  @Override
  public void listening(Address address, String service, boolean on) {
    directory.listening(address, service, on);
  }

  @Override
  public List<CompletableFuture<Outcome>> inbound(Caller caller, InboundRequest request, Address to, String service) {
    List<Node> holders = directory.holders(to, service);
    if (holders.isEmpty()) {
      return List.of();
    }
    NodeInboundRequest forwarded = NodeInboundRequest.newBuilder()
        .setRequest(request.toBuilder()
            .clearCertificateChain()
            .addAllCertificateChain(caller.chainDer()))
        .setFrom(caller.address().toString())
        .setTimeoutMillis((int) answerTimeout.toMillis())
        .build();
    List<CompletableFuture<Outcome>> out = new ArrayList<>(holders.size());
    for (Node n : holders) {
      CompletableFuture<Outcome> f = new CompletableFuture<>();
      try {
        Futures.addCallback(
            link(n).withDeadlineAfter(answerTimeout.plus(MARGIN).toMillis(), TimeUnit.MILLISECONDS)
                .inbound(forwarded),
            new FutureCallback<InboundResponse>() {
              @Override
              public void onSuccess(InboundResponse r) {
                f.complete(new Outcome(r.getListenersList(), List.of(), false));
              }

              @Override
              public void onFailure(Throwable t) {
                f.complete(outcomeOf(n, caller, to, service, Status.fromThrowable(t)));
              }
            },
            MoreExecutors.directExecutor());
      } catch (RuntimeException e) {
        f.complete(outcomeOf(n, caller, to, service, Status.fromThrowable(e)));
      }
      out.add(f);
    }
    return out;
  }

  /**
   * A stub on the link to {@code node}; links to nodes that have left are closed first, when the
   * directory's list of live nodes is a new one (it is replaced when reread, at most once a
   * heartbeat), not on every call.
   */
  private NodeLinkGrpc.NodeLinkFutureStub link(Node node) {
    List<Node> live = directory.liveNodes();
    if (live != linksPrunedFor) {
      linksPrunedFor = live;
      links.retainOnly(live);
    }
    return links.stub(node);
  }

  private Outcome outcomeOf(Node n, Caller caller, Address to, String service, Status s) {
    switch (s.getCode()) {
      case PERMISSION_DENIED:
        return new Outcome(List.of(), List.of(s.getDescription() == null ? "declined" : s.getDescription()), false);
      case NOT_FOUND:
        return Outcome.GONE; // its listener left between the directory read and the call
      case DEADLINE_EXCEEDED:
        log.info("{}: Inbound {}/{} of {} forwarded to {}: no answer in time", directory.self(), to, service,
            caller.address(), n);
        return new Outcome(List.of(), List.of(), true);
      default:
        // UNAVAILABLE (the node is gone, or its listener did not answer), or anything else
        boolean gone = s.getCode() == Status.Code.UNAVAILABLE && s.getCause() != null;
        log.info("{}: Inbound {}/{} of {} forwarded to {} failed: {} {}", directory.self(), to, service,
            caller.address(), n, s.getCode(), s.getDescription());
        return gone ? Outcome.GONE : new Outcome(List.of(), List.of(), s.getCode() == Status.Code.UNAVAILABLE);
    }
  }

  @Override
  public Optional<CompletableFuture<BindUdpResponse>> bindUdp(Caller caller, BindUdpRequest request) {
    String nodeId = Node.ofTicket(request.getListenerId());
    if (nodeId.isEmpty() || nodeId.equals(directory.id())) {
      return Optional.empty();
    }
    Optional<Node> node = directory.live(nodeId);
    if (node.isEmpty()) {
      return Optional.of(CompletableFuture.failedFuture(Status.NOT_FOUND
          .withDescription("listener id '" + ListenerTickets.shorten(request.getListenerId())
              + "' was issued by another node of this domain, which is gone; call Inbound again")
          .asRuntimeException()));
    }
    CompletableFuture<BindUdpResponse> f = new CompletableFuture<>();
    Futures.addCallback(
        link(node.get()).withDeadlineAfter(answerTimeout.plus(MARGIN).toMillis(), TimeUnit.MILLISECONDS)
            .bindUdp(NodeBindUdpRequest.newBuilder().setRequest(request).setFrom(caller.address().toString()).build()),
        new FutureCallback<BindUdpResponse>() {
          @Override
          public void onSuccess(BindUdpResponse r) {
            f.complete(r);
          }

          @Override
          public void onFailure(Throwable t) {
            Status s = Status.fromThrowable(t);
            f.completeExceptionally(s.getCode() == Status.Code.UNAVAILABLE && s.getCause() != null
                ? Status.NOT_FOUND.withDescription("the node holding that listener is gone; call Inbound again")
                    .asRuntimeException()
                : s.asRuntimeException());
          }
        },
        MoreExecutors.directExecutor());
    return Optional.of(f);
  }
}
