package org.q2q.client.internal.punch;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.q2q.client.internal.punch.HolePunch.Role;
import org.q2q.client.internal.punch.HolePunch.State;
import org.q2q.client.internal.punch.SimNat.Nat;

/** Hole punching between two simulated NATs, in virtual time, over many seeds. */
class HolePunchSimTest {
  private static final long MS = 1_000_000L;
  private static final int SEEDS = 300;

  /** The outcome of one run. */
  private record Run(SimNat net, long connectorStart, long listenerStart) {
    HolePunch connector() {
      return net.hosts[0].punch;
    }

    HolePunch listener() {
      return net.hosts[1].punch;
    }
  }

  /**
   * Host 0 connects, host 1 listens. The listener starts when the BindUdpQuery reaches it, the
   * connector when BindUdp returns: 0..150 ms later.
   */
  private static Run run(long seed, Nat a, Nat b, boolean sameLan, double loss, java.util.function.Consumer<SimNat> tweak) {
    SimNat net = new SimNat(seed, a, b, sameLan);
    net.loss = loss;
    String id = "listener-id-" + seed;
    List<InetSocketAddress> ca = net.hosts[0].candidates();
    List<InetSocketAddress> cb = net.hosts[1].candidates();
    Random r = new Random(seed);
    net.hosts[0].punch = new HolePunch(Role.CONNECTOR, new PunchKey(id), cb, ca, HolePunch.Schedule.DEFAULT, new Random(seed * 7 + 1));
    net.hosts[1].punch = new HolePunch(Role.LISTENER, new PunchKey(id), ca, cb, HolePunch.Schedule.DEFAULT, new Random(seed * 7 + 2));
    tweak.accept(net);
    long listenerStart = 1000 * MS;
    long connectorStart = listenerStart + r.nextInt(150) * MS;
    net.run(connectorStart, listenerStart, 10_000 * MS);
    return new Run(net, connectorStart, listenerStart);
  }

  private static Run run(long seed, Nat a, Nat b, double loss) {
    return run(seed, a, b, false, loss, n -> {});
  }

  private static long punchedAt(HolePunch p, List<HolePunch.Event> sink) {
    HolePunch.Event e;
    long at = -1;
    while ((e = p.pollEvent()) != null) {
      sink.add(e);
      if (e.type() == HolePunch.Event.Type.PUNCHED) {
        at = e.atNanos();
      }
    }
    return at;
  }

  private static long percentile(List<Long> v, double q) {
    List<Long> s = new ArrayList<>(v);
    Collections.sort(s);
    return s.get((int) Math.min(s.size() - 1, Math.floor(q * s.size())));
  }

  @Test
  void twoConeNatsPunchThroughEveryTimeOnTheirPublicMappings() {
    List<Long> times = new ArrayList<>();
    for (long seed = 1; seed <= SEEDS; seed++) {
      Run r = run(seed, Nat.CONE, Nat.CONE, 0);
      assertThat(r.connector().state()).as("seed %d", seed).isEqualTo(State.PUNCHED);
      assertThat(r.listener().state()).as("seed %d", seed).isEqualTo(State.PUNCHED);
      // each side's path is the other's NAT mapping (the private addresses route nowhere)
      assertThat(r.connector().path().getAddress()).isEqualTo(r.net().hosts[1].publicIp);
      assertThat(r.listener().path().getAddress()).isEqualTo(r.net().hosts[0].publicIp);
      long done = punchedAt(r.connector(), new ArrayList<>());
      times.add((done - r.connectorStart()) / MS);
    }
    System.out.printf("cone/cone: connector punched after median %d ms, p99 %d ms, max %d ms (one-way 20-25 ms)%n",
        percentile(times, 0.5), percentile(times, 0.99), percentile(times, 1.0));
    assertThat(percentile(times, 1.0)).isLessThan(600); // within the second round at worst
  }

  @Test
  void underTenPercentLossAlmostEveryPunchStillSucceedsWithinTheBound() {
    int ok = 0;
    for (long seed = 1; seed <= SEEDS; seed++) {
      Run r = run(seed, Nat.CONE, Nat.CONE, 0.10);
      if (r.connector().state() == State.PUNCHED) {
        ok++;
      } else {
        assertThat(r.connector().state()).isEqualTo(State.FAILED);
      }
      assertThat(r.net().now - r.listenerStart()).isLessThanOrEqualTo(2_200 * MS);
    }
    System.out.printf("cone/cone at 10%% loss: %d/%d punched%n", ok, SEEDS);
    assertThat(ok).isGreaterThanOrEqualTo(SEEDS * 97 / 100);
  }

  @Test
  void aPublicHostAndAConeNatPunch() {
    for (long seed = 1; seed <= SEEDS; seed++) {
      Run r = run(seed, Nat.NONE, Nat.CONE, 0);
      assertThat(r.connector().state()).as("seed %d", seed).isEqualTo(State.PUNCHED);
      assertThat(r.listener().state()).as("seed %d", seed).isEqualTo(State.PUNCHED);
      assertThat(r.listener().path()).isEqualTo(r.net().hosts[0].privateAddress);
    }
  }

  @Test
  void twoHostsOnOneLanUseTheirPrivateAddresses() {
    for (long seed = 1; seed <= SEEDS; seed++) {
      Run r = run(seed, Nat.CONE, Nat.CONE, true, 0, n -> {});
      assertThat(r.connector().path()).as("seed %d", seed).isEqualTo(r.net().hosts[1].privateAddress);
      assertThat(r.listener().path()).as("seed %d", seed).isEqualTo(r.net().hosts[0].privateAddress);
    }
  }

  @Test
  void twoSymmetricNatsFailWithinTheBound() {
    for (long seed = 1; seed <= SEEDS; seed++) {
      Run r = run(seed, Nat.SYMMETRIC, Nat.SYMMETRIC, 0);
      List<HolePunch.Event> events = new ArrayList<>();
      assertThat(punchedAt(r.connector(), events)).isEqualTo(-1);
      assertThat(r.connector().state()).as("seed %d", seed).isEqualTo(State.FAILED);
      assertThat(r.listener().state()).as("seed %d", seed).isEqualTo(State.FAILED);
      assertThat(r.connector().path()).isNull();
      HolePunch.Event failed = events.get(events.size() - 1);
      assertThat(failed.type()).isEqualTo(HolePunch.Event.Type.FAILED);
      assertThat(failed.atNanos() - r.connectorStart()).isEqualTo(2_000 * MS);
      assertThat(events.stream().filter(e -> e.type() == HolePunch.Event.Type.ROUND)).hasSize(5);
    }
  }

  @Test
  void aSymmetricNatAgainstAPortRestrictedConeFailsToo() {
    for (long seed = 1; seed <= 50; seed++) {
      Run r = run(seed, Nat.SYMMETRIC, Nat.CONE, 0);
      assertThat(r.connector().state()).as("seed %d", seed).isEqualTo(State.FAILED);
    }
  }

  @Test
  void aSymmetricNatAgainstAPublicHostPunchesThroughThePeerReflexiveAddress() {
    for (long seed = 1; seed <= SEEDS; seed++) {
      Run r = run(seed, Nat.SYMMETRIC, Nat.NONE, 0);
      assertThat(r.connector().state()).as("seed %d", seed).isEqualTo(State.PUNCHED);
      assertThat(r.listener().state()).as("seed %d", seed).isEqualTo(State.PUNCHED);
      // the listener learned the connector's mapping toward it, which STUN could not tell
      List<HolePunch.Event> events = new ArrayList<>();
      punchedAt(r.listener(), events);
      assertThat(events).anyMatch(e -> e.type() == HolePunch.Event.Type.LEARNED);
      assertThat(r.listener().candidates()).contains(r.listener().path());
    }
  }

  @Test
  void anOnPathAttackerReplayingAndForgingCannotSteerThePath() {
    for (long seed = 1; seed <= SEEDS; seed++) {
      long s = seed;
      Run r = run(seed, Nat.CONE, Nat.CONE, false, 0, net -> {
        Random evil = new Random(s);
        net.tap = (from, t) -> {
          // replay every probe and ACK it sees, from its own address, to both sides' public candidates
          for (SimNat.Host h : net.hosts) {
            for (InetSocketAddress c : h.candidates()) {
              net.inject(c, t.datagram());
            }
          }
          // forge: right tag (visible on the wire), random nonce/echo, made-up MAC; and bit flips
          byte[] forged = t.datagram().clone();
          for (int i = 16; i < PunchProbe.SIZE; i++) {
            forged[i] = (byte) evil.nextInt();
          }
          byte[] flipped = t.datagram().clone();
          flipped[evil.nextInt(PunchProbe.SIZE)] ^= (byte) (1 << evil.nextInt(8));
          for (SimNat.Host h : net.hosts) {
            for (InetSocketAddress c : h.candidates()) {
              net.inject(c, forged);
              net.inject(c, flipped);
              net.inject(c, new byte[] {'N', 'A', 'T', '!'});
            }
          }
        };
      });
      assertThat(r.connector().state()).as("seed %d", seed).isEqualTo(State.PUNCHED);
      assertThat(r.listener().state()).as("seed %d", seed).isEqualTo(State.PUNCHED);
      assertThat(r.connector().path()).isNotEqualTo(SimNat.ATTACKER);
      assertThat(r.listener().path()).isNotEqualTo(SimNat.ATTACKER);
      assertThat(r.connector().path().getAddress()).isEqualTo(r.net().hosts[1].publicIp);
      assertThat(r.listener().path().getAddress()).isEqualTo(r.net().hosts[0].publicIp);
    }
  }

  @Test
  void theSameSeedGivesTheSameRun() {
    Run a = run(42, Nat.CONE, Nat.CONE, 0.2);
    Run b = run(42, Nat.CONE, Nat.CONE, 0.2);
    assertThat(a.connector().state()).isEqualTo(b.connector().state());
    assertThat(a.net().now).isEqualTo(b.net().now);
    assertThat(a.net().delivered).isEqualTo(b.net().delivered);
  }
}
