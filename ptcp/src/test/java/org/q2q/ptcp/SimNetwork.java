package org.q2q.ptcp;

import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import java.util.PriorityQueue;
import java.util.Random;
import java.util.function.Consumer;

/**
 * A simulated network in virtual time (quinn's {@code Pair}): two endpoints joined by two one-way
 * links, each with latency, jitter (reordering), seeded loss, duplication, corruption, truncation
 * (MTU), a bottleneck rate with a drop-tail queue, black holes and silence. Deterministic: the same
 * seed gives the same run. Not thread-safe.
 */
final class SimNetwork {
  static final InetSocketAddress ADDR_A = new InetSocketAddress("10.0.0.1", 4000);
  static final InetSocketAddress ADDR_B = new InetSocketAddress("10.0.0.2", 5000);

  /** One direction of the path. */
  static final class Link {
    long latency = 10_000_000L;
    long jitter;
    double loss;
    double duplicate;
    double corrupt;
    int mtu = 65535;
    /** Datagrams larger than this vanish (an ICMP-less MTU black hole). */
    int dropAbove = Integer.MAX_VALUE;
    /** Bottleneck rate, bytes per second (0 = infinite). */
    long rate = 20_000_000L;
    /** Maximum queueing delay at the bottleneck before drop-tail, ns. */
    long maxQueue = 100_000_000L;
    boolean silent;
    long blackHoleFrom = Long.MAX_VALUE;
    long blackHoleUntil = Long.MAX_VALUE;
    long busyUntil;
    long sent;
    long dropped;
  }

  private record Packet(long at, long order, int to, InetSocketAddress from, byte[] data) {}

  final Random rnd;
  long now;
  private long order;
  final PtcpEndpoint[] ep = new PtcpEndpoint[2];
  final long seed;
  final InetSocketAddress[] addr = {ADDR_A, ADDR_B};
  /** links[0]: A to B; links[1]: B to A. */
  final Link[] links = {new Link(), new Link()};
  private final PriorityQueue<Packet> inFlight = new PriorityQueue<>((x, y) ->
      x.at != y.at ? Long.compare(x.at, y.at) : Long.compare(x.order, y.order));
  private final ByteBuffer buf = ByteBuffer.allocate(70_000);
  final List<PtcpEvent>[] events;
  final List<byte[]> rawReceived = new ArrayList<>();
  private final List<Consumer<SimNetwork>> afterStep = new ArrayList<>();
  long steps;

  @SuppressWarnings("unchecked")
  SimNetwork(long seed, PtcpConfig a, PtcpConfig b) {
    this.seed = seed;
    rnd = new Random(seed);
    ep[0] = new PtcpEndpoint(a, new Random(seed * 31 + 1));
    ep[1] = new PtcpEndpoint(b, new Random(seed * 31 + 2));
    ep[1].listen(true);
    events = new List[] {new ArrayList<PtcpEvent>(), new ArrayList<PtcpEvent>()};
  }

  SimNetwork(long seed, PtcpConfig c) {
    this(seed, c, c);
  }

  /** Both directions. */
  SimNetwork both(Consumer<Link> f) {
    f.accept(links[0]);
    f.accept(links[1]);
    return this;
  }

  /** Adds a hook run after every step (application logic). */
  void onStep(Consumer<SimNetwork> hook) {
    afterStep.add(hook);
  }

  /** Opens a connection from A to B. */
  PtcpConnection connect() {
    return ep[0].connect(now, ADDR_B);
  }

  private void transmit(int from) {
    Link l = links[from];
    while (true) {
      buf.clear();
      InetSocketAddress dest = ep[from].pollTransmit(now, buf);
      if (dest == null) {
        return;
      }
      buf.flip();
      byte[] d = new byte[buf.remaining()];
      buf.get(d);
      send(from, d, l);
    }
  }

  /** Every datagram offered to a link: {time, from, flags byte, length}. */
  final List<long[]> sendLog = new ArrayList<>();
  boolean logSends;

  private void send(int from, byte[] d, Link l) {
    l.sent++;
    if (logSends) {
      sendLog.add(new long[] {now, from, d.length > 2 ? d[2] & 0xff : -1, d.length});
    }
    if (l.silent || d.length > l.dropAbove || (now >= l.blackHoleFrom && now < l.blackHoleUntil)
        || (l.loss > 0 && rnd.nextDouble() < l.loss)) {
      l.dropped++;
      return;
    }
    if (d.length > l.mtu) {
      d = java.util.Arrays.copyOf(d, l.mtu);
    }
    long depart = now;
    if (l.rate > 0) {
      long start = Math.max(now, l.busyUntil);
      if (start - now > l.maxQueue) {
        l.dropped++;
        return;
      }
      depart = start + (long) d.length * 1_000_000_000L / l.rate;
      l.busyUntil = depart;
    }
    int copies = (l.duplicate > 0 && rnd.nextDouble() < l.duplicate) ? 2 : 1;
    for (int i = 0; i < copies; i++) {
      byte[] c = d;
      if (l.corrupt > 0 && rnd.nextDouble() < l.corrupt) {
        c = d.clone();
        int pos = rnd.nextInt(c.length);
        c[pos] ^= (byte) (1 + rnd.nextInt(255));
      }
      long extra = l.jitter > 0 ? (long) (rnd.nextDouble() * l.jitter) : 0;
      inFlight.add(new Packet(depart + l.latency + extra, order++, 1 - from, addr[from], c));
    }
  }

  /** Sends a raw (non-PTCP) datagram from side {@code from}. */
  void sendRaw(int from, byte[] data) {
    send(from, data, links[from]);
  }

  /** Transmits, then advances time to the next event and processes it. Returns false when idle. */
  boolean step() {
    steps++;
    transmit(0);
    transmit(1);
    long next = Long.MAX_VALUE;
    if (!inFlight.isEmpty()) {
      next = inFlight.peek().at;
    }
    for (PtcpEndpoint e : ep) {
      OptionalLong t = e.pollTimeout();
      if (t.isPresent()) {
        next = Math.min(next, t.getAsLong());
      }
    }
    if (next == Long.MAX_VALUE) {
      return false;
    }
    now = Math.max(now, next);
    while (!inFlight.isEmpty() && inFlight.peek().at <= now) {
      Packet p = inFlight.poll();
      if (!ep[p.to].handleDatagram(now, p.from, ByteBuffer.wrap(p.data))) {
        rawReceived.add(p.data);
      }
    }
    for (PtcpEndpoint e : ep) {
      OptionalLong t = e.pollTimeout();
      if (t.isPresent() && t.getAsLong() <= now) {
        e.handleTimeout(now);
      }
    }
    for (int i = 0; i < 2; i++) {
      PtcpEvent ev;
      while ((ev = ep[i].pollEvent()) != null) {
        events[i].add(ev);
      }
    }
    for (Consumer<SimNetwork> h : afterStep) {
      h.accept(this);
    }
    return true;
  }

  /** Steps until idle, or at most {@code maxSteps} steps; returns true if it went idle. */
  boolean driveBounded(long maxSteps) {
    for (long i = 0; i < maxSteps; i++) {
      if (!step()) {
        return true;
      }
    }
    return false;
  }

  /**
   * Steps until the network is quiet: nothing in flight and no timer due within one second (keepalive
   * and TIME_WAIT timers may remain). Bounded by one million steps; returns true if it got quiet.
   */
  boolean drive() {
    for (int i = 0; i < 1_000_000; i++) {
      if (inFlight.isEmpty()) {
        long next = Long.MAX_VALUE;
        for (PtcpEndpoint e : ep) {
          next = Math.min(next, e.pollTimeout().orElse(Long.MAX_VALUE));
        }
        if (next > now + 1_000_000_000L && !hasTransmit()) {
          return true;
        }
      }
      if (!step()) {
        return true;
      }
    }
    return false;
  }

  private boolean hasTransmit() {
    for (int i = 0; i < 2; i++) {
      buf.clear();
      InetSocketAddress d = ep[i].pollTransmit(now, buf);
      if (d != null) {
        buf.flip();
        byte[] b = new byte[buf.remaining()];
        buf.get(b);
        send(i, b, links[i]);
        return true;
      }
    }
    return false;
  }

  /** Steps while {@code cond} is false and time stays below {@code until}; returns cond. */
  boolean driveUntil(java.util.function.BooleanSupplier cond, long until) {
    while (!cond.getAsBoolean() && now < until) {
      if (!step()) {
        break;
      }
    }
    return cond.getAsBoolean();
  }

  /** Events of side {@code i} of {@code type}. */
  List<PtcpEvent> eventsOf(int i, PtcpEvent.Type type) {
    return events[i].stream().filter(e -> e.type() == type).toList();
  }
}
