package org.q2q.client.internal.punch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.q2q.client.internal.punch.HolePunch.Role;
import org.q2q.client.internal.punch.HolePunch.State;

/** One side of a punch, driven by hand. */
class HolePunchTest {
  private static final long MS = 1_000_000L;
  private static final InetSocketAddress PEER_PRIVATE = SimNat.addr("192.168.1.3", 5000);
  private static final InetSocketAddress PEER_PUBLIC = SimNat.addr("203.0.113.3", 41000);
  private static final InetSocketAddress ME = SimNat.addr("10.0.0.2", 4000);

  private static List<HolePunch.Transmit> drain(HolePunch p) {
    List<HolePunch.Transmit> out = new ArrayList<>();
    HolePunch.Transmit t;
    while ((t = p.pollTransmit()) != null) {
      out.add(t);
    }
    return out;
  }

  private static HolePunch connector(String id) {
    return new HolePunch(Role.CONNECTOR, new PunchKey(id), List.of(PEER_PRIVATE, PEER_PUBLIC), List.of(ME),
        HolePunch.Schedule.DEFAULT, new Random(1));
  }

  @Test
  void withNoAnswerItSendsFiveRoundsToEveryCandidateThenFailsAtTwoSeconds() {
    HolePunch p = connector("id-1");
    assertThat(p.pollTimeout()).isEmpty();
    p.start(0);
    List<Long> roundTimes = new ArrayList<>();
    long now = 0;
    int probes = 0;
    while (p.state() == State.PUNCHING) {
      List<HolePunch.Transmit> out = drain(p);
      if (!out.isEmpty()) {
        roundTimes.add(now / MS);
        assertThat(out).extracting(HolePunch.Transmit::destination).containsExactly(PEER_PRIVATE, PEER_PUBLIC);
        assertThat(out).allMatch(t -> t.datagram().length == PunchProbe.SIZE);
        probes += out.size();
      }
      now = p.pollTimeout().getAsLong();
      p.handleTimeout(now);
    }
    assertThat(roundTimes).containsExactly(0L, 400L, 800L, 1200L, 1600L);
    assertThat(probes).isEqualTo(10);
    assertThat(p.state()).isEqualTo(State.FAILED);
    assertThat(now).isEqualTo(2000 * MS);
    assertThat(p.pollTimeout()).isEmpty();
  }

  @Test
  void anAckEchoingAProbeSentToItsSourceGivesThePathAndIsAnsweredOnce() {
    HolePunch me = connector("id-2");
    HolePunch peer = new HolePunch(Role.LISTENER, new PunchKey("id-2"), List.of(ME), List.of(PEER_PUBLIC),
        HolePunch.Schedule.DEFAULT, new Random(2));
    me.start(0);
    peer.start(0);
    drain(peer);
    HolePunch.Transmit toPublic = drain(me).get(1);
    assertThat(toPublic.destination()).isEqualTo(PEER_PUBLIC);
    // the peer gets our probe from our NAT's mapping and answers it there
    InetSocketAddress myMapping = SimNat.addr("198.51.100.2", 33333);
    assertThat(peer.handleDatagram(10 * MS, myMapping, ByteBuffer.wrap(toPublic.datagram()))).isTrue();
    List<HolePunch.Transmit> ack = drain(peer);
    assertThat(ack).hasSize(1);
    assertThat(ack.get(0).destination()).isEqualTo(myMapping);
    assertThat(peer.state()).isEqualTo(State.PUNCHING); // a probe alone proves nothing to the peer

    // the same ACK arriving from another address is not a path
    assertThat(me.handleDatagram(20 * MS, SimNat.ATTACKER, ByteBuffer.wrap(ack.get(0).datagram()))).isTrue();
    assertThat(me.state()).isEqualTo(State.PUNCHING);
    assertThat(me.ignored()).isEqualTo(1);
    // from the address we probed: the path
    me.handleDatagram(20 * MS, PEER_PUBLIC, ByteBuffer.wrap(ack.get(0).datagram()));
    assertThat(me.state()).isEqualTo(State.PUNCHED);
    assertThat(me.path()).isEqualTo(PEER_PUBLIC);
    assertThat(me.pollTimeout()).isEmpty();
    // and the ACK is answered, so the peer finishes without waiting for its next round
    List<HolePunch.Transmit> reply = drain(me);
    assertThat(reply).hasSize(1);
    peer.handleDatagram(30 * MS, myMapping, ByteBuffer.wrap(reply.get(0).datagram()));
    assertThat(peer.state()).isEqualTo(State.PUNCHED);
    assertThat(peer.path()).isEqualTo(myMapping);
    // the peer answers the ACK that gave it its path; we are done already, so that is the end
    List<HolePunch.Transmit> last = drain(peer);
    assertThat(last).hasSize(1);
    me.handleDatagram(40 * MS, PEER_PUBLIC, ByteBuffer.wrap(last.get(0).datagram()));
    assertThat(drain(me)).isEmpty();
    assertThat(me.path()).isEqualTo(PEER_PUBLIC);
  }

  @Test
  void probesOfAnotherPunchOrRoleOrKeyAreNotTaken() {
    HolePunch me = connector("id-3");
    me.start(0);
    HolePunch.Transmit mine = drain(me).get(0);
    // my own probe reflected back: same role, ignored
    assertThat(me.handleDatagram(MS, PEER_PRIVATE, ByteBuffer.wrap(mine.datagram()))).isTrue();
    assertThat(drain(me)).isEmpty();
    // another punch's probe: not ours at all
    HolePunch other = new HolePunch(Role.LISTENER, new PunchKey("id-4"), List.of(ME), List.of(), HolePunch.Schedule.DEFAULT,
        new Random(3));
    other.start(0);
    assertThat(me.handleDatagram(MS, PEER_PRIVATE, ByteBuffer.wrap(drain(other).get(0).datagram()))).isFalse();
    // not a probe
    assertThat(me.handleDatagram(MS, PEER_PRIVATE, ByteBuffer.wrap(new byte[48]))).isFalse();
    assertThat(me.handleDatagram(MS, PEER_PRIVATE, ByteBuffer.wrap("NAT!".getBytes()))).isFalse();
    assertThat(me.state()).isEqualTo(State.PUNCHING);
  }

  @Test
  void candidatesAreBoundedDeduplicatedAndNeverOurOwn() {
    List<InetSocketAddress> many = new ArrayList<>();
    for (int i = 0; i < 40; i++) {
      many.add(SimNat.addr("198.51.100." + (i % 20 + 1), 7000));
    }
    many.add(ME);
    many.add(InetSocketAddress.createUnresolved("example.org", 1));
    many.add(SimNat.addr("198.51.100.200", 0));
    HolePunch p = new HolePunch(Role.CONNECTOR, new PunchKey("id-5"), many, List.of(ME), HolePunch.Schedule.DEFAULT,
        new Random(4));
    assertThat(p.candidates()).hasSize(HolePunch.MAX_CANDIDATES).doesNotContain(ME).doesNotHaveDuplicates();
  }

  @Test
  void answersToReplayedProbesAreBounded() {
    HolePunch listener = new HolePunch(Role.LISTENER, new PunchKey("id-6"), List.of(ME), List.of(), HolePunch.Schedule.DEFAULT,
        new Random(5));
    HolePunch connector = connector("id-6");
    listener.start(0);
    connector.start(0);
    drain(listener);
    byte[] probe = drain(connector).get(0).datagram();
    int answers = 0;
    for (int i = 0; i < 1000; i++) {
      listener.handleDatagram(MS, SimNat.addr("192.0.2.200", 1000 + i), ByteBuffer.wrap(probe));
      answers += drain(listener).stream().filter(t -> t.destination().getPort() >= 1000).count();
    }
    assertThat(answers).isEqualTo(HolePunch.MAX_ANSWERS);
    assertThat(listener.candidates()).hasSize(1 + HolePunch.MAX_LEARNED);
  }

  @Test
  void badUseIsAClearError() {
    HolePunch p = connector("id-7");
    p.start(0);
    assertThatThrownBy(() -> p.start(1)).isInstanceOf(IllegalStateException.class).hasMessageContaining("PUNCHING");
    assertThatThrownBy(() -> new HolePunch.Schedule(0, Duration.ofMillis(1), Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("0 x");
    assertThatThrownBy(() -> new PunchKey("")).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void aProbeIsFortyEightAuthenticatedBytesAndEveryBitCounts() {
    PunchKey k = new PunchKey("id-8");
    byte[] b = PunchProbe.encode(k, PunchProbe.PROBE, true, 77, 0);
    assertThat(b).hasSize(48);
    assertThat(b[0]).isEqualTo((byte) 0x71);
    assertThat(PunchProbe.decode(k, ByteBuffer.wrap(b))).isEqualTo(new PunchProbe.Decoded(PunchProbe.PROBE, true, 77, 0));
    assertThat(PunchProbe.decode(new PunchKey("id-9"), ByteBuffer.wrap(b))).isNull();
    for (int bit = 0; bit < 48 * 8; bit++) {
      byte[] f = b.clone();
      f[bit / 8] ^= (byte) (1 << (bit % 8));
      assertThat(PunchProbe.decode(k, ByteBuffer.wrap(f))).as("bit %d", bit).isNull();
    }
    assertThat(PunchProbe.decode(k, ByteBuffer.wrap(java.util.Arrays.copyOf(b, 47)))).isNull();
  }
}
