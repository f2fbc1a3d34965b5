package org.q2q.client.internal.connect;

import java.util.ArrayList;
import java.util.List;
import org.q2q.proto.ConnectionMethod;
import org.q2q.proto.HostPort;
import org.q2q.proto.Listener;

/**
 * Turns the listeners of an Inbound answer into the plans of a race: a pure function.
 *
 * <ul>
 *   <li>Start delays follow DESIGN.md: direct TCP at once, PTCP/RPTCP after the soft timeout, the
 *       relay after twice the soft timeout (the racer shifts everything so the first plan starts
 *       at once; with only a relay it starts immediately).
 *   <li>Methods this client cannot use yet (tcp, ptcp, rptcp) are listed as skipped, with why.
 *   <li>Methods of a kind this version does not know (a newer server's) are ignored; Vertex
 *       aborted the whole connect on them.
 *   <li>Several listeners keep their order of preference.
 * </ul>
 */
public final class MethodPlanner {
  private MethodPlanner() {}

  /** Makes the plan for one method of one listener. */
  public interface PlanFactory<S> {
    /** The relay plan for {@code listener}. */
    ConnectPlan<S> relay(Listener listener);
  }

  /** The race's entries and the methods skipped. */
  public record Planned<S>(List<Racer.Entry<S>> entries, List<String> skipped) {}

  /** Plans every method of every listener. */
  public static <S> Planned<S> plan(List<Listener> listeners, long softTimeoutMillis, PlanFactory<S> factory) {
    List<Racer.Entry<S>> entries = new ArrayList<>();
    List<String> skipped = new ArrayList<>();
    for (Listener l : listeners) {
      for (ConnectionMethod m : l.getMethodsList()) {
        switch (m.getKindCase()) {
          case RELAY -> entries.add(new Racer.Entry<>(factory.relay(l), 2 * softTimeoutMillis));
          case TCP -> skipped.add("tcp " + hostPort(m.getTcp()) + ": not supported by this client yet");
          case PTCP -> skipped.add("ptcp " + hostPort(m.getPtcp()) + ": not supported by this client yet");
          case RPTCP -> skipped.add("rptcp " + hostPort(m.getRptcp()) + ": not supported by this client yet");
          default -> { } // a method kind from a newer version: skip it, never abort
        }
      }
    }
    return new Planned<>(entries, skipped);
  }

  static String hostPort(HostPort hp) {
    return (hp.getHost().indexOf(':') >= 0 ? "[" + hp.getHost() + "]" : hp.getHost()) + ":" + hp.getPort();
  }
}
