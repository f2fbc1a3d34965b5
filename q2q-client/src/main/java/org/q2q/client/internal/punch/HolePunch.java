package org.q2q.client.internal.punch;

import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.OptionalLong;
import java.util.random.RandomGenerator;

/**
 * The hole-punching schedule of one Inbound, as a sans-IO state machine (like the PTCP core): both
 * peers send authenticated probes to every candidate of the other, in a few rounds started at about
 * the same time (the listener when the BindUdpQuery reaches it, the connector when BindUdp
 * returns: one round trip through the server apart, as libp2p DCUtR times it), and the first
 * candidate that answers is the path.
 *
 * <ul>
 *   <li>Inputs: {@link #start}, {@link #handleDatagram} (every datagram whose tag is ours: see
 *       {@link PunchProbe#tag}), {@link #handleTimeout}.
 *   <li>Outputs: {@link #pollTransmit} until null (destination + 48 bytes), {@link #pollTimeout},
 *       {@link #pollEvent} until null; {@link #state()} and {@link #path()}.
 *   <li>States: IDLE, PUNCHING, then PUNCHED (a path) or FAILED (no answer within the schedule:
 *       rounds x interval + grace, 2 s by default). After PUNCHED it keeps answering probes, so the
 *       peer can finish too, until the caller drops it.
 * </ul>
 *
 * <p>The path rule, which is what makes a stray or spoofed datagram unable to steer it: a path is
 * taken only on an authenticated ACK (MAC under the listener-id key, {@link PunchKey}) that echoes
 * the nonce of a probe this side sent <em>to the very address the ACK came from</em>; so the peer
 * holds the key, received our probe at that address, and answered from it. Probes never set the
 * path; they are answered with an ACK (a 1:1 exchange, at most {@link #MAX_ANSWERS} per punch). An
 * authenticated probe from an address not among the candidates (the peer's NAT mapping toward us,
 * ICE's peer-reflexive candidate) is probed in later rounds, at most {@link #MAX_LEARNED} such.
 * Datagrams from our own role (reflections), with a bad MAC, or unknown echoes are ignored and
 * counted.
 *
 * <p>Time is whatever monotonic nanosecond clock the caller passes; randomness (nonces) comes from
 * the injected generator. Not thread-safe: one thread (the socket's event loop) drives it.
 */
public final class HolePunch {
  /** Which side of the Inbound this punch runs on. */
  public enum Role {
    /** The side that called Inbound and BindUdp; it opens the PTCP connection on the path found. */
    CONNECTOR,
    /** The side that answered the InboundQuery and accepts the PTCP connection. */
    LISTENER
  }

  /** Where the punch is. */
  public enum State { IDLE, PUNCHING, PUNCHED, FAILED }

  /**
   * When probes go out: {@code rounds} rounds {@code interval} apart, then {@code grace} after the
   * last round for late answers before FAILED.
   */
  public record Schedule(int rounds, Duration interval, Duration grace) {
    /** 5 rounds, 400 ms apart (0 to 1.6 s), 400 ms grace: FAILED 2 s after start. */
    public static final Schedule DEFAULT = new Schedule(5, Duration.ofMillis(400), Duration.ofMillis(400));

    public Schedule {
      if (rounds < 1 || rounds > 50 || interval.isNegative() || interval.isZero() || grace.isNegative()) {
        throw new IllegalArgumentException("a schedule needs 1..50 rounds and a positive interval, got "
            + rounds + " x " + interval + " + " + grace);
      }
    }
  }

  /** A datagram to send from the punching socket. */
  public record Transmit(InetSocketAddress destination, byte[] datagram) {}

  /** Something worth telling the user (-v) or a test. */
  public record Event(Type type, long atNanos, int round, InetSocketAddress address, int count) {
    /** What happened. */
    public enum Type {
      /** Round {@code round} sent {@code count} probes. */
      ROUND,
      /** An authenticated probe came from {@code address}, not a candidate: probed from now on. */
      LEARNED,
      /** The path is {@code address}. */
      PUNCHED,
      /** No path after {@code round} rounds. */
      FAILED
    }
  }

  /** Remote candidates probed, at most (more are ignored, in the order given). */
  public static final int MAX_CANDIDATES = 16;
  /** Peer-reflexive addresses learned from probes, at most. */
  public static final int MAX_LEARNED = 4;
  /** ACKs sent per punch, at most (bounds what a replayed probe can make us send). */
  public static final int MAX_ANSWERS = 64;
  /** Nonces remembered (every one sent while punching fits: rounds x candidates + answers). */
  private static final int MAX_NONCES = 1024;

  private final Role role;
  private final PunchKey key;
  private final Schedule schedule;
  private final RandomGenerator random;
  private final List<InetSocketAddress> candidates = new ArrayList<>();
  private int learned;
  /** Nonce of each probe or ACK sent while punching, to the address it went to (bounded, oldest out). */
  private final Map<Long, InetSocketAddress> sent = new LinkedHashMap<>(64, 0.75f, false) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<Long, InetSocketAddress> e) {
      return size() > MAX_NONCES;
    }
  };
  private final ArrayDeque<Transmit> transmits = new ArrayDeque<>();
  private final ArrayDeque<Event> events = new ArrayDeque<>();
  private State state = State.IDLE;
  private InetSocketAddress path;
  private long startedAt;
  private int round;
  private long nextRoundAt;
  private int answers;
  private long ignored;

  /**
   * @param role which side this is
   * @param key from the Inbound's listener id
   * @param remote the peer's candidates (local addresses and reflexive), in preference order;
   *     duplicates, unresolved ones, port 0 and our own addresses are skipped, and only the first
   *     {@link #MAX_CANDIDATES} are used
   * @param local our own candidates (never probed, in case the peer lists them too)
   * @param schedule the rounds
   * @param random nonce source
   */
  public HolePunch(Role role, PunchKey key, Collection<InetSocketAddress> remote, Collection<InetSocketAddress> local,
      Schedule schedule, RandomGenerator random) {
    this.role = Objects.requireNonNull(role, "role");
    this.key = Objects.requireNonNull(key, "key");
    this.schedule = Objects.requireNonNull(schedule, "schedule");
    this.random = Objects.requireNonNull(random, "random");
    for (InetSocketAddress a : remote) {
      if (candidates.size() < MAX_CANDIDATES && a != null && !a.isUnresolved() && a.getPort() != 0
          && !candidates.contains(a) && !local.contains(a)) {
        candidates.add(a);
      }
    }
  }

  // ---- inputs ----

  /** Starts round 1 now. */
  public void start(long now) {
    if (state != State.IDLE) {
      throw new IllegalStateException("the punch is " + state + ", not IDLE");
    }
    state = State.PUNCHING;
    startedAt = now;
    nextRoundAt = now;
    handleTimeout(now);
  }

  /** Sends the rounds that are due, and fails once the schedule is over. */
  public void handleTimeout(long now) {
    if (state != State.PUNCHING) {
      return;
    }
    while (round < schedule.rounds() && now >= nextRoundAt) {
      round++;
      for (InetSocketAddress c : candidates) {
        send(c, PunchProbe.PROBE, 0);
      }
      events.add(new Event(Event.Type.ROUND, now, round, null, candidates.size()));
      nextRoundAt += schedule.interval().toNanos();
    }
    if (round >= schedule.rounds() && now >= failAt()) {
      state = State.FAILED;
      events.add(new Event(Event.Type.FAILED, now, round, null, candidates.size()));
    }
  }

  /**
   * Handles a datagram from {@code source} (between position and limit, not moved). Returns
   * whether it belonged to this punch (its tag), whatever came of it; false leaves it to others.
   */
  public boolean handleDatagram(long now, InetSocketAddress source, ByteBuffer datagram) {
    if (!PunchProbe.looksLikeProbe(datagram) || PunchProbe.tag(datagram) != key.tag()) {
      return false;
    }
    PunchProbe.Decoded d = PunchProbe.decode(key, datagram);
    if (d == null || d.fromListener() == (role == Role.LISTENER) || state == State.IDLE || state == State.FAILED
        || source == null) {
      ignored++; // forged, corrupt, our own reflected, or too early/late
      return true;
    }
    boolean confirmed = false;
    if (d.kind() == PunchProbe.ACK) {
      InetSocketAddress probed = sent.get(d.echo());
      if (probed == null || !probed.equals(source)) {
        ignored++; // an echo we never sent there: stale, replayed from elsewhere, or made up
        return true;
      }
      if (state == State.PUNCHING) {
        state = State.PUNCHED;
        path = source;
        confirmed = true;
        events.add(new Event(Event.Type.PUNCHED, now, round, source, (int) ((now - startedAt) / 1_000_000)));
      }
    }
    if (state == State.PUNCHING && !candidates.contains(source) && learned < MAX_LEARNED) {
      learned++;
      candidates.add(source);
      events.add(new Event(Event.Type.LEARNED, now, round, source, candidates.size()));
    }
    // answer every probe, and the ACK that just gave us the path (so the peer finishes at once)
    if ((d.kind() == PunchProbe.PROBE || confirmed) && answers < MAX_ANSWERS) {
      answers++;
      send(source, PunchProbe.ACK, d.nonce());
    }
    return true;
  }

  // ---- outputs ----

  /** The next datagram to send, or null. */
  public Transmit pollTransmit() {
    return transmits.poll();
  }

  /** When {@link #handleTimeout} is next due, or empty if never (not punching). */
  public OptionalLong pollTimeout() {
    if (state != State.PUNCHING) {
      return OptionalLong.empty();
    }
    return OptionalLong.of(round < schedule.rounds() ? nextRoundAt : failAt());
  }

  /** The next event, or null. */
  public Event pollEvent() {
    return events.poll();
  }

  /** The state. */
  public State state() {
    return state;
  }

  /** The peer's address that answered, once PUNCHED; else null. */
  public InetSocketAddress path() {
    return path;
  }

  /** The candidates probed (given, then learned). */
  public List<InetSocketAddress> candidates() {
    return List.copyOf(candidates);
  }

  /** The tag that routes datagrams to this punch. */
  public long tag() {
    return key.tag();
  }

  /** Rounds sent so far. */
  public int rounds() {
    return round;
  }

  /** Datagrams with our tag that were ignored (bad MAC, reflected, unknown echo, out of time). */
  public long ignored() {
    return ignored;
  }

  private long failAt() {
    return startedAt + (schedule.rounds() - 1) * schedule.interval().toNanos() + schedule.grace().toNanos();
  }

  private void send(InetSocketAddress to, int kind, long echo) {
    long nonce;
    do {
      nonce = random.nextLong();
    } while (nonce == 0 || sent.containsKey(nonce));
    if (state == State.PUNCHING) {
      sent.put(nonce, to); // once punched no ACK of ours needs to be recognised
    }
    transmits.add(new Transmit(to, PunchProbe.encode(key, kind, role == Role.LISTENER, nonce, echo)));
  }

  @Override
  public String toString() {
    return key + " " + role + " " + state + (path == null ? "" : " via " + path);
  }
}
