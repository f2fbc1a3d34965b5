package org.q2q.client.internal.connect;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.q2q.client.Transport;
import org.q2q.client.internal.net.CandidateOrder;
import org.q2q.client.internal.net.Ips;
import org.q2q.proto.ConnectionMethod;
import org.q2q.proto.HostPort;
import org.q2q.proto.Listener;

/**
 * Turns the listeners of an Inbound answer into the plans of a race: a pure function.
 *
 * <ul>
 *   <li>Each advertised method goes to the {@link ConnectMethod} of its kind. Start delays follow
 *       DESIGN.md: tiers one soft timeout apart for each tier present (direct TCP at once, PTCP
 *       after the soft timeout, the relay after the next), so with no PTCP the relay starts after
 *       one soft timeout.
 *   <li>Within a tier, a listener's direct addresses are dialed in Happy Eyeballs order ({@link
 *       CandidateOrder}), {@code staggerMillis} apart; passive methods (waiting for the peer to
 *       dial us) start at once.
 *   <li>Known kinds this client cannot use, and kinds the transport choice excludes, are listed as
 *       skipped with why; kinds this version does not know (a newer peer's) are ignored: Vertex
 *       aborted the whole connect on them.
 *   <li>Several listeners keep their order of preference.
 * </ul>
 */
public final class MethodPlanner {
  /** Listeners of one Inbound answer raced at most (the rest are skipped, with a note). */
  static final int MAX_LISTENERS = 8;
  /**
   * Attempts of one kind planned for one listener at most (duplicates count once): a hostile
   * answer cannot make us open thousands, and many addresses never crowd out the relay.
   */
  static final int MAX_PER_KIND = 8;

  private MethodPlanner() {}

  /** The race's entries and the methods skipped. */
  public record Planned<S>(List<Racer.Entry<S>> entries, List<String> skipped) {}

  /** Plans every method of every listener. */
  public static <S> Planned<S> plan(List<Listener> listeners, long softTimeoutMillis, long staggerMillis,
      List<ConnectMethod<S>> methods, Transport choice) {
    Map<ConnectionMethod.KindCase, ConnectMethod<S>> byKind = new java.util.EnumMap<>(ConnectionMethod.KindCase.class);
    for (ConnectMethod<S> m : methods) {
      byKind.put(m.advertised(), m);
    }
    record Usable<S>(Listener listener, ConnectionMethod advertised, ConnectMethod<S> method) {}
    List<Usable<S>> usable = new ArrayList<>();
    List<String> skipped = new ArrayList<>();
    if (listeners.size() > MAX_LISTENERS) {
      skipped.add((listeners.size() - MAX_LISTENERS) + " more listener(s): at most " + MAX_LISTENERS + " are tried");
    }
    for (Listener l : listeners.subList(0, Math.min(listeners.size(), MAX_LISTENERS))) {
      Map<ConnectionMethod.KindCase, Integer> perKind = new java.util.EnumMap<>(ConnectionMethod.KindCase.class);
      for (ConnectionMethod m : orderDirect(l.getMethodsList().stream().distinct().toList())) {
        ConnectMethod<S> method = byKind.get(m.getKindCase());
        if (method == null) {
          if (m.getKindCase() != ConnectionMethod.KindCase.KIND_NOT_SET) {
            skipped.add(describe(m) + ": not supported by this client yet");
          }
          continue; // KIND_NOT_SET: a method kind from a newer version, skipped, never fatal
        }
        if (!choice.allows(method.kind())) {
          skipped.add(describe(m) + ": not used with transport " + choice.name().toLowerCase());
          continue;
        }
        int n = perKind.merge(m.getKindCase(), 1, Integer::sum);
        if (n == MAX_PER_KIND + 1) {
          skipped.add("more " + describe(m).split(" ")[0] + " addresses: at most " + MAX_PER_KIND + " per listener");
        }
        if (n <= MAX_PER_KIND) {
          usable.add(new Usable<>(l, m, method));
        }
      }
    }
    TreeSet<Integer> tiers = new TreeSet<>();
    usable.forEach(u -> tiers.add(u.method().tier()));
    List<Racer.Entry<S>> entries = new ArrayList<>();
    Map<String, Integer> slots = new java.util.HashMap<>();
    for (Usable<S> u : usable) {
      long delay = tiers.headSet(u.method().tier()).size() * softTimeoutMillis;
      if (!u.method().passive()) {
        int slot = slots.merge(u.listener().getId() + "/" + u.method().tier(), 1, Integer::sum) - 1;
        delay += slot * staggerMillis;
      }
      ConnectPlan<S> plan = u.method().plan(u.listener(), u.advertised());
      if (plan != null) {
        entries.add(new Racer.Entry<>(plan, delay));
      }
    }
    return new Planned<>(entries, skipped);
  }

  /** A listener's methods with its direct TCP addresses in dialing order, the rest as advertised. */
  private static List<ConnectionMethod> orderDirect(List<ConnectionMethod> methods) {
    List<HostPort> tcp = methods.stream().filter(ConnectionMethod::hasTcp).map(ConnectionMethod::getTcp)
        .filter(Ips::valid).toList();
    List<ConnectionMethod> out = new ArrayList<>();
    for (HostPort hp : CandidateOrder.order(tcp)) {
      out.add(ConnectionMethod.newBuilder().setTcp(hp).build());
    }
    for (ConnectionMethod m : methods) {
      if (!m.hasTcp()) {
        out.add(m);
      }
    }
    return out;
  }

  static String describe(ConnectionMethod m) {
    return switch (m.getKindCase()) {
      case TCP -> "tcp " + Ips.toString(m.getTcp());
      case PTCP -> "ptcp " + Ips.toString(m.getPtcp());
      case RPTCP -> "rptcp " + Ips.toString(m.getRptcp());
      case REVERSE_TCP -> "reverse tcp";
      case RELAY -> "relay";
      case KIND_NOT_SET -> "unknown method";
    };
  }
}
