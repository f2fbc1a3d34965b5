package org.q2q.server.internal.fleet;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.q2q.certstore.Address;
import org.q2q.certstore.Certificates;
import org.q2q.proto.BindUdpResponse;
import org.q2q.proto.InboundResponse;
import org.q2q.proto.NodeBindUdpRequest;
import org.q2q.proto.NodeInboundRequest;
import org.q2q.proto.NodeLinkGrpc;
import org.q2q.server.internal.Futures;
import org.q2q.server.CallerIdentity;
import org.q2q.server.internal.presence.BindUdpForwarder;
import org.q2q.server.internal.presence.Caller;
import org.q2q.server.internal.presence.InboundBroker;

/**
 * The node link, called side: Inbound and BindUdp forwarded by another node of the domain, answered
 * from the listeners this node holds. Only a node may call it: the caller's certificate must be one
 * the domain CA issued for the domain itself (a node's server certificate; users' name a user
 * address). The forwarding node verified the connector; its word on {@code from} is taken.
 */
public final class NodeLinkService extends NodeLinkGrpc.NodeLinkImplBase {
  private final Address domain;
  private final InboundBroker inbound;
  private final BindUdpForwarder bindUdps;

  public NodeLinkService(Address domain, InboundBroker inbound, BindUdpForwarder bindUdps) {
    this.domain = domain.domainAddress();
    this.inbound = inbound;
    this.bindUdps = bindUdps;
  }

  @Override
  public void inbound(NodeInboundRequest request, StreamObserver<InboundResponse> responses) {
    CompletableFuture<InboundResponse> r;
    try {
      requireNode();
      Address from = Address.parse(request.getFrom());
      List<X509Certificate> chain =
          Certificates.fromDer(request.getRequest().getCertificateChainList().stream().map(b -> b.toByteArray()).toList());
      if (chain.isEmpty()) {
        throw Status.INVALID_ARGUMENT.withDescription("a forwarded Inbound carries the connector's chain")
            .asRuntimeException();
      }
      r = inbound.inboundHere(new Caller(from, chain), request.getRequest());
    } catch (StatusRuntimeException e) {
      r = CompletableFuture.failedFuture(e);
    } catch (CertificateException | IllegalArgumentException e) {
      r = CompletableFuture.failedFuture(
          Status.INVALID_ARGUMENT.withDescription("malformed forwarded Inbound: " + e.getMessage()).asRuntimeException());
    }
    reply(r, responses);
  }

  @Override
  public void bindUdp(NodeBindUdpRequest request, StreamObserver<BindUdpResponse> responses) {
    CompletableFuture<BindUdpResponse> r;
    try {
      requireNode();
      r = bindUdps.bindUdp(new Caller(Address.parse(request.getFrom()), List.of()), request.getRequest());
    } catch (StatusRuntimeException e) {
      r = CompletableFuture.failedFuture(e);
    } catch (IllegalArgumentException e) {
      r = CompletableFuture.failedFuture(
          Status.INVALID_ARGUMENT.withDescription("malformed forwarded BindUdp: " + e.getMessage()).asRuntimeException());
    }
    reply(r, responses);
  }

  private void requireNode() {
    Address caller = CallerIdentity.require();
    if (!caller.equals(domain)) {
      throw Status.PERMISSION_DENIED.withDescription("only the nodes of " + domain + " may call the node link")
          .asRuntimeException();
    }
  }

  private static <T> void reply(CompletableFuture<T> r, StreamObserver<T> responses) {
    r.whenComplete((v, e) -> {
      if (e != null) {
        Throwable c = Futures.unwrap(e);
        responses.onError(c instanceof StatusRuntimeException s ? s
            : Status.INTERNAL.withDescription("the node could not answer").asRuntimeException());
      } else {
        responses.onNext(v);
        responses.onCompleted();
      }
    });
  }
}
