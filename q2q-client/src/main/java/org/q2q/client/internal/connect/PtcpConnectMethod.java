package org.q2q.client.internal.connect;

import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BiConsumer;
import org.q2q.client.Route;
import org.q2q.client.internal.accept.UdpTransportAcceptor;
import org.q2q.proto.ConnectionMethod;
import org.q2q.proto.HostPort;
import org.q2q.proto.Listener;
import org.q2q.proto.PresenceGrpc;

/**
 * PTCP over UDP, connecting side: one {@link PtcpPlan} per listener, punching toward all of its
 * advertised UDP addresses at once (the punch finds which one answers).
 */
final class PtcpConnectMethod<S> implements ConnectMethod<S> {
  private final UdpTransportAcceptor udp;
  private final PresenceGrpc.PresenceStub stub;
  private final Deadline deadline;
  private final BiConsumer<Route, String> progress;
  private final Secure<S> secure;
  private final Set<String> planned = ConcurrentHashMap.newKeySet();

  /** @param progress each punching step of an attempt, for {@code -v} */
  PtcpConnectMethod(UdpTransportAcceptor udp, PresenceGrpc.PresenceStub stub, Deadline deadline,
      BiConsumer<Route, String> progress, Secure<S> secure) {
    this.udp = udp;
    this.stub = stub;
    this.deadline = deadline;
    this.progress = progress;
    this.secure = secure;
  }

  @Override
  public ConnectionMethod.KindCase advertised() {
    return ConnectionMethod.KindCase.PTCP;
  }

  @Override
  public Route.Kind kind() {
    return Route.Kind.PTCP;
  }

  @Override
  public int tier() {
    return 1;
  }

  @Override
  public ConnectPlan<S> plan(Listener listener, ConnectionMethod method) {
    if (!planned.add(listener.getId())) {
      return null; // this listener's first ptcp method planned for all of them
    }
    List<HostPort> all = listener.getMethodsList().stream().filter(ConnectionMethod::hasPtcp)
        .map(ConnectionMethod::getPtcp).toList();
    PtcpPlan<S>[] self = new PtcpPlan[1];
    self[0] = new PtcpPlan<>(udp, stub, listener.getId(), all, deadline,
        step -> progress.accept(self[0].route(), step),
        (ch, route) -> secure.start(ch, route, listener.getId()));
    return self[0];
  }
}
