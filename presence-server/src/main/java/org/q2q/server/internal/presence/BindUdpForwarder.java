package org.q2q.server.internal.presence;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.q2q.proto.BindUdpAnswer;
import org.q2q.proto.BindUdpQuery;
import org.q2q.proto.BindUdpRequest;
import org.q2q.proto.BindUdpResponse;
import org.q2q.proto.HostPort;
import org.q2q.server.internal.Futures;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * BindUdp: a connector asks, through the server, the listener of one of its live Inbound answers to
 * send UDP toward it (the listener's half of a hole punch). The server must never become a way to
 * make a client send UDP to a third party, so a request is forwarded only if:
 *
 * <ul>
 *   <li>the udp_destination is an IP literal and port (INVALID_ARGUMENT otherwise);
 *   <li>the listener id is live and was issued to the caller (NOT_FOUND, PERMISSION_DENIED: {@link
 *       ListenerTickets#peek}); the listener's Listen session is still open (UNAVAILABLE);
 *   <li>the destination is one of the udp_candidates the caller announced in the Inbound that
 *       issued the id (PERMISSION_DENIED otherwise);
 *   <li>the id has been used for fewer than {@link #MAX_CALLS_PER_ID} BindUdp calls
 *       (RESOURCE_EXHAUSTED), so one id cannot make the server push queries without end.
 * </ul>
 * The listener's answer (or its silence, UNAVAILABLE after the timeout) is returned. The id stays
 * usable (for the relay, or more BindUdp within the bound). Safe for concurrent use.
 */
public final class BindUdpForwarder {
  private static final Logger log = LoggerFactory.getLogger(BindUdpForwarder.class);
  /** BindUdp calls one listener id allows (a punch needs one, maybe a retry per candidate family). */
  public static final int MAX_CALLS_PER_ID = 8;

  private final ListenerTickets tickets;
  private final Duration answerTimeout;

  public BindUdpForwarder(ListenerTickets tickets, Duration answerTimeout) {
    this.tickets = tickets;
    this.answerTimeout = answerTimeout;
  }

  /**
   * Handles one BindUdp call of {@code caller}.
   *
   * @return the response, or a failure carrying a {@link StatusRuntimeException}
   */
  public CompletableFuture<BindUdpResponse> bindUdp(Caller caller, BindUdpRequest request) {
    String id = ListenerTickets.shorten(request.getListenerId());
    ListenerTicket t;
    InetSocketAddress dest;
    try {
      if (!request.hasUdpDestination()) {
        throw Status.INVALID_ARGUMENT.withDescription("udp_destination is missing").asRuntimeException();
      }
      dest = UdpCandidates.parse(request.getUdpDestination(), "udp_destination");
      t = tickets.peek(request.getListenerId(), caller.address());
      if (!t.session().isOpen()) {
        throw Status.UNAVAILABLE.withDescription(t.to() + " stopped listening").asRuntimeException();
      }
      if (!t.udpCandidates().contains(dest)) {
        log.info("{} {}: BindUdp toward {} refused: not among the Inbound's udp_candidates {}", id,
            caller.address(), dest, t.udpCandidates());
        throw Status.PERMISSION_DENIED
            .withDescription("udp_destination " + hostPort(dest) + " is not one of the udp_candidates announced"
                + " in the Inbound that issued listener id '" + id + "' (" + t.udpCandidates().addresses().size()
                + " announced); BindUdp only makes the listener send toward the connector's own candidates")
            .asRuntimeException();
      }
      int calls = t.bindUdpCalls().incrementAndGet();
      if (calls > MAX_CALLS_PER_ID) {
        throw Status.RESOURCE_EXHAUSTED
            .withDescription("listener id '" + id + "' was already used for " + MAX_CALLS_PER_ID
                + " BindUdp calls (the limit)")
            .asRuntimeException();
      }
    } catch (StatusRuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
    CompletableFuture<BindUdpAnswer> answer = t.session().ask(BindUdpQuery.newBuilder()
        .setListenerId(t.id())
        .setUdpDestination(HostPort.newBuilder().setHost(dest.getAddress().getHostAddress()).setPort(dest.getPort()))
        .setFrom(caller.address().toString()));
    log.debug("{} {}: BindUdp toward {} asked of {}", id, caller.address(), dest, t.session());
    return answer
        .orTimeout(answerTimeout.toMillis(), TimeUnit.MILLISECONDS)
        .handle((a, e) -> {
          t.session().forget(answer);
          if (e != null) {
            Throwable c = Futures.unwrap(e);
            if (c instanceof StatusRuntimeException s) {
              throw s;
            }
            throw Status.UNAVAILABLE
                .withDescription("the listener " + t.to() + " did not answer BindUdp within "
                    + answerTimeout.toMillis() + " ms")
                .asRuntimeException();
          }
          if (!a.getError().isEmpty()) {
            String why = a.getError().length() > 200 ? a.getError().substring(0, 200) + "..." : a.getError();
            throw Status.UNAVAILABLE
                .withDescription("the listener " + t.to() + " could not send UDP: " + why)
                .asRuntimeException();
          }
          log.debug("{} {}: BindUdp toward {} done by {}", id, caller.address(), dest, t.session());
          return BindUdpResponse.getDefaultInstance();
        });
  }

  private static String hostPort(InetSocketAddress a) {
    String h = a.getAddress().getHostAddress();
    return (h.indexOf(':') >= 0 ? "[" + h + "]" : h) + ":" + a.getPort();
  }
}
