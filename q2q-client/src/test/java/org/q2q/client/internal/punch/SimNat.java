package org.q2q.client.internal.punch;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.PriorityQueue;
import java.util.Random;
import java.util.Set;
import java.util.function.BiConsumer;

/**
 * Two hosts behind NAT routers and an internet between them, in virtual time (the ptcp SimNetwork
 * idea, with NAT behaviour instead of transport impairments). Each side's router is one of:
 *
 * <ul>
 *   <li>{@link Nat#NONE}: the host has a public address;
 *   <li>{@link Nat#CONE}: one public port per host whatever the destination (endpoint-independent
 *       mapping), inbound allowed only from an address and port the host sent to (Linux
 *       MASQUERADE with a firewall dropping unsolicited inbound);
 *   <li>{@link Nat#SYMMETRIC}: a new random public port per destination ({@code --random-fully}),
 *       inbound only from that destination.
 * </ul>
 * No hairpinning. With {@code sameLan} both hosts sit behind one router and reach each other's
 * private addresses directly. Seeded loss and latency jitter; deterministic per seed. Not
 * thread-safe.
 */
final class SimNat {
  enum Nat { NONE, CONE, SYMMETRIC }

  static final InetSocketAddress STUN_SERVER = addr("192.0.2.10", 8788);
  static final InetSocketAddress ATTACKER = addr("203.0.113.66", 6666);

  static InetSocketAddress addr(String ip, int port) {
    try {
      return new InetSocketAddress(InetAddress.getByName(ip), port);
    } catch (UnknownHostException e) {
      throw new IllegalArgumentException(e);
    }
  }

  /** One host and its router. */
  final class Host {
    final int index;
    final InetSocketAddress privateAddress;
    final InetAddress publicIp;
    final Nat nat;
    HolePunch punch;
    /** CONE: the one public port. */
    final int conePort;
    /** Public port -> the destination it was made for (SYMMETRIC) or null (CONE). */
    final Map<Integer, InetSocketAddress> mappings = new HashMap<>();
    /** SYMMETRIC: destination -> public port. */
    final Map<InetSocketAddress, Integer> byDestination = new HashMap<>();
    /** Remote addresses the host has sent to (the firewall's established set). */
    final Set<InetSocketAddress> contacted = new HashSet<>();

    Host(int index, InetSocketAddress privateAddress, InetAddress publicIp, Nat nat) {
      this.index = index;
      this.privateAddress = privateAddress;
      this.publicIp = publicIp;
      this.nat = nat;
      this.conePort = 20_000 + rnd.nextInt(40_000);
    }

    /** The public source of a datagram to {@code to} (creating the mapping). */
    InetSocketAddress outbound(InetSocketAddress to) {
      contacted.add(to);
      switch (nat) {
        case NONE:
          return privateAddress;
        case CONE:
          mappings.put(conePort, null);
          return new InetSocketAddress(publicIp, conePort);
        default:
          Integer p = byDestination.get(to);
          if (p == null) {
            do {
              p = 1024 + rnd.nextInt(64_000);
            } while (mappings.containsKey(p));
            byDestination.put(to, p);
            mappings.put(p, to);
          }
          return new InetSocketAddress(publicIp, p);
      }
    }

    /** Whether the router lets {@code from} in to public port {@code port}. */
    boolean admits(int port, InetSocketAddress from) {
      switch (nat) {
        case NONE:
          return port == privateAddress.getPort();
        case CONE:
          return port == conePort && mappings.containsKey(port) && contacted.contains(from);
        default:
          return mappings.containsKey(port) && from.equals(mappings.get(port));
      }
    }

    /** This host's candidates: its private address, and the reflexive one a STUN query would report. */
    List<InetSocketAddress> candidates() {
      List<InetSocketAddress> c = new ArrayList<>();
      c.add(privateAddress);
      if (nat != Nat.NONE) {
        c.add(outbound(STUN_SERVER));
      }
      return c;
    }
  }

  private record Packet(long at, long order, int to, InetSocketAddress from, byte[] data) {}

  final Random rnd;
  final Host[] hosts = new Host[2];
  final boolean sameLan;
  long now;
  long latency = 20_000_000L;
  long jitter = 5_000_000L;
  double loss;
  private long order;
  private final PriorityQueue<Packet> queue = new PriorityQueue<>((x, y) ->
      x.at != y.at ? Long.compare(x.at, y.at) : Long.compare(x.order, y.order));
  /** Sees every datagram a host sends (an on-path observer), and may inject from the attacker. */
  BiConsumer<Integer, HolePunch.Transmit> tap = (i, t) -> {};
  long delivered;
  long dropped;

  SimNat(long seed, Nat a, Nat b, boolean sameLan) {
    this.rnd = new Random(seed);
    this.sameLan = sameLan;
    if (sameLan) {
      InetAddress pub = addr("198.51.100.1", 1).getAddress();
      hosts[0] = new Host(0, addr("10.0.0.2", 4000), pub, a);
      hosts[1] = new Host(1, addr("10.0.0.3", 5000), pub, a);
    } else {
      hosts[0] = new Host(0, a == Nat.NONE ? addr("198.51.100.2", 4000) : addr("10.0.0.2", 4000),
          addr("198.51.100.2", 1).getAddress(), a);
      hosts[1] = new Host(1, b == Nat.NONE ? addr("203.0.113.3", 5000) : addr("192.168.1.3", 5000),
          addr("203.0.113.3", 1).getAddress(), b);
    }
  }

  /** Sends {@code t} from host {@code from}. */
  void send(int from, HolePunch.Transmit t) {
    tap.accept(from, t);
    if (rnd.nextDouble() < loss) {
      dropped++;
      return;
    }
    Host h = hosts[from];
    Host other = hosts[1 - from];
    long at = now + latency + (jitter == 0 ? 0 : (long) (rnd.nextDouble() * jitter));
    if (sameLan && t.destination().equals(other.privateAddress)) {
      queue.add(new Packet(at, order++, other.index, h.privateAddress, t.datagram()));
      return;
    }
    InetSocketAddress src = h.outbound(t.destination());
    route(at, src, t.destination(), t.datagram());
  }

  /** A datagram from the attacker's public address. */
  void inject(InetSocketAddress to, byte[] data) {
    route(now + latency, ATTACKER, to, data);
  }

  private void route(long at, InetSocketAddress src, InetSocketAddress to, byte[] data) {
    for (Host o : hosts) {
      boolean sameRouter = sameLan || o.publicIp.equals(src.getAddress());
      if (!sameRouter && o.publicIp.equals(to.getAddress()) && o.admits(to.getPort(), src)) {
        queue.add(new Packet(at, order++, o.index, src, data));
        return;
      }
    }
    dropped++; // unroutable private address, filtered, no hairpin, or the attacker's own address
  }

  private void drain(Host h) {
    HolePunch.Transmit t;
    while ((t = h.punch.pollTransmit()) != null) {
      send(h.index, t);
    }
  }

  /** Starts each punch at its time and runs until both are done or {@code until}. */
  void run(long startA, long startB, long until) {
    long[] start = {startA, startB};
    boolean[] started = new boolean[2];
    while (true) {
      long next = Long.MAX_VALUE;
      for (int i = 0; i < 2; i++) {
        if (!started[i]) {
          next = Math.min(next, start[i]);
        } else {
          OptionalLong t = hosts[i].punch.pollTimeout();
          if (t.isPresent()) {
            next = Math.min(next, t.getAsLong());
          }
        }
      }
      if (!queue.isEmpty()) {
        next = Math.min(next, queue.peek().at);
      }
      boolean done = started[0] && started[1] && hosts[0].punch.state() != HolePunch.State.PUNCHING
          && hosts[1].punch.state() != HolePunch.State.PUNCHING && queue.isEmpty();
      if (done || next == Long.MAX_VALUE || next > until) {
        return;
      }
      now = Math.max(now, next);
      for (int i = 0; i < 2; i++) {
        if (!started[i] && start[i] <= now) {
          started[i] = true;
          hosts[i].punch.start(now);
          drain(hosts[i]);
        }
      }
      while (!queue.isEmpty() && queue.peek().at <= now) {
        Packet p = queue.poll();
        delivered++;
        Host h = hosts[p.to];
        if (started[p.to]) {
          h.punch.handleDatagram(now, p.from, ByteBuffer.wrap(p.data));
          drain(h);
        }
      }
      for (int i = 0; i < 2; i++) {
        if (started[i]) {
          hosts[i].punch.handleTimeout(now);
          drain(hosts[i]);
        }
      }
    }
  }
}
