package org.q2q.server.internal.presence;

import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import org.q2q.certstore.Address;
import org.q2q.proto.BindUdpRequest;
import org.q2q.proto.BindUdpResponse;
import org.q2q.proto.HostPort;
import org.q2q.proto.InboundRequest;
import org.q2q.proto.Listener;

/**
 * What presence needs of the other nodes serving the same domain: where listeners are, and the
 * calls that must reach the node holding one. A single node has none ({@link #NONE}).
 * Implementations are safe for concurrent use.
 */
public interface OtherNodes {
  /** A node's answer to a forwarded Inbound: what the listeners it holds said. */
  record Outcome(List<Listener> listeners, List<String> declines, boolean unanswered) {
    /** The node holds none any more, or is gone: nothing to report. */
    public static final Outcome GONE = new Outcome(List.of(), List.of(), false);

    public Outcome {
      listeners = List.copyOf(listeners);
      declines = List.copyOf(declines);
    }
  }

  /** One node alone. */
  OtherNodes NONE = new OtherNodes() {
    @Override
    public String ticketPrefix() {
      return "";
    }

    @Override
    public Optional<HostPort> self() {
      return Optional.empty();
    }

    @Override
    public void listening(Address address, String service, boolean on) {}

    @Override
    public List<CompletableFuture<Outcome>> inbound(Caller caller, InboundRequest request, Address to, String service) {
      return List.of();
    }

    @Override
    public Optional<CompletableFuture<BindUdpResponse>> bindUdp(Caller caller, BindUdpRequest request) {
      return Optional.empty();
    }
  };

  /** What starts every listener id this node issues ("" alone): it tells which node holds the ticket. */
  String ticketPrefix();

  /** This node's gRPC endpoint as the other nodes and clients reach it; empty alone. */
  Optional<HostPort> self();

  /** This node now has its first listener for (address, service) ({@code on}), or lost its last. */
  void listening(Address address, String service, boolean on);

  /**
   * Forwards an Inbound to every live node holding listeners for (to, service), this one excepted.
   *
   * @return one future per node asked, each completing (never failing) with that node's outcome;
   *     empty if no other node holds any
   */
  List<CompletableFuture<Outcome>> inbound(Caller caller, InboundRequest request, Address to, String service);

  /**
   * Forwards a BindUdp whose listener id another node issued to that node.
   *
   * @return empty if the id is this node's to handle; else the other node's answer, or a failure
   *     carrying a StatusRuntimeException (NOT_FOUND if that node is gone)
   */
  Optional<CompletableFuture<BindUdpResponse>> bindUdp(Caller caller, BindUdpRequest request);
}
