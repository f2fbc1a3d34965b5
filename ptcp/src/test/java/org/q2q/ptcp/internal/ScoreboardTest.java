package org.q2q.ptcp.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 10, unit = TimeUnit.SECONDS)
class ScoreboardTest {
  @Test
  void sackedSegmentsAboveAHoleDeclareItLost() {
    Scoreboard b = new Scoreboard();
    for (int i = 0; i < 10; i++) {
      b.add(i * 100L, 100, false, i, 128);
    }
    assertThat(b.inFlight()).isEqualTo(1000);
    b.onSack(100, 300, s -> { });
    assertThat(b.detectLosses()).isEqualTo(Long.MIN_VALUE); // only 2 above
    b.onSack(300, 400, s -> { });
    assertThat(b.detectLosses()).isZero(); // segment 0 (sent at t=0) lost
    assertThat(b.lostCount()).isEqualTo(1);
    assertThat(b.inFlight()).isEqualTo(1000 - 300 - 100);
    SentSegment s = b.firstLost(1000);
    assertThat(s.start).isZero();
    b.onRetransmit(s, 20, 128);
    assertThat(b.lostCount()).isZero();
    // The retransmission is not declared lost again until something sent after it is delivered.
    b.onSack(400, 500, x -> { });
    assertThat(b.detectLosses()).isEqualTo(Long.MIN_VALUE);
    assertThat(b.onCumulativeAck(500, x -> { })).isEqualTo(100);
    assertThat(b.size()).isEqualTo(5);
  }

  @Test
  void retransmissionIsSplitWhenTheDatagramShrank() {
    Scoreboard b = new Scoreboard();
    b.add(0, 1000, true, 0, 1028);
    b.markAllLost();
    SentSegment s = b.firstLost(300);
    assertThat(s.length).isEqualTo(300);
    assertThat(s.fin).isFalse();
    b.onRetransmit(s, 1, 328);
    int n = 1;
    while ((s = b.firstLost(300)) != null) {
      b.onRetransmit(s, 1, 328);
      n++;
    }
    assertThat(n).isEqualTo(4);
    assertThat(b.get(3).fin).isTrue();
    assertThat(b.inFlight()).isEqualTo(1000);
    b.onCumulativeAck(1001, x -> { });
    assertThat(b.isEmpty()).isTrue();
    assertThat(b.inFlight()).isZero();
  }

  /**
   * Random sends, SACKs (often a repeated block grown at the right, as peers send them), cumulative
   * ACKs, loss detection, retransmissions with splits, RTOs and tail-loss probes, in step with the
   * straightforward reference: the incremental bookkeeping must decide exactly the same.
   */
  @Test
  void matchesTheReferenceOnRandomOperations() {
    for (int seed = 0; seed < 100; seed++) {
      Random r = new Random(seed);
      ReferenceScoreboard ref = new ReferenceScoreboard();
      Scoreboard b = new Scoreboard();
      long[] delivered = new long[2];
      long next = 0;
      long una = 0;
      long now = 0;
      long[] prevL = new long[4];
      long[] prevR = new long[4];
      for (int k = 0; k < 3000; k++) {
        String at = "seed " + seed + " op ";
        int op = r.nextInt(100);
        now += r.nextInt(3) == 0 ? 0 : r.nextInt(5);
        if (op < 40) {
          int len = 1 + r.nextInt(100);
          boolean fin = r.nextInt(500) == 0;
          int size = 50 + r.nextInt(200);
          ref.add(next, len, fin, now, size);
          b.add(next, len, fin, now, size);
          next += len + (fin ? 1 : 0);
        } else if (op < 60 && next > una) {
          long left = una + r.nextInt((int) (next - una));
          long right = Math.min(next, left + 1 + r.nextInt(600));
          int q = r.nextInt(4);
          if (r.nextBoolean() && prevL[q] >= una && prevL[q] < next) {
            left = prevL[q];
            right = Math.min(next, Math.max(left + 1, prevR[q] + r.nextInt(200) - 40));
          }
          prevL[q] = left;
          prevR[q] = right;
          same(b.onSack(left, right, s -> delivered[1] += s.sentTime * 7 + s.length),
              ref.onSack(left, right, s -> delivered[0] += s.sentTime * 7 + s.length), at, k);
        } else if (op < 72 && next > una && r.nextInt(3) == 0) {
          long ack = una + r.nextInt((int) (next - una) + 1);
          same(b.onCumulativeAck(ack, s -> delivered[1] += s.sentTime * 7 + s.length),
              ref.onCumulativeAck(ack, s -> delivered[0] += s.sentTime * 7 + s.length), at, k);
          una = ack;
        } else if (op >= 72 && op < 90) {
          same(b.detectLosses(), ref.detectLosses(), at, k);
        } else if (op >= 90 && op < 97) {
          int maxPayload = r.nextInt(4) == 0 ? 1 + r.nextInt(60) : 1000;
          ReferenceScoreboard.Seg x = ref.firstLost(maxPayload);
          SentSegment y = b.firstLost(maxPayload);
          same(y == null ? 0 : 1, x == null ? 0 : 1, at, k);
          if (x != null) {
            same(y.start, x.start, at, k);
            same(y.length, x.length, at, k);
            same(y.fin ? 1 : 0, x.fin ? 1 : 0, at, k);
            if (r.nextInt(4) != 0) {
              ref.onRetransmit(x, now, 99);
              b.onRetransmit(y, now, 99);
            }
          }
        } else if (op == 97) {
          ref.markAllLost();
          b.markAllLost();
        } else if (op == 98) {
          same(b.markLastLost() ? 1 : 0, ref.markLastLost() ? 1 : 0, at, k);
        } else if (op == 99) {
          int size = 100 + r.nextInt(150);
          same(b.markOversizeLost(size), ref.markOversizeLost(size), at, k);
        }
        same(b.inFlight(), ref.inFlight(), at, k);
        same(b.lostCount(), ref.lostCount(), at, k);
        same(b.size(), ref.size(), at, k);
        same(delivered[1], delivered[0], at, k);
        if (k % 100 == 0) {
          for (int i = 0; i < ref.size(); i++) {
            ReferenceScoreboard.Seg x = ref.get(i);
            SentSegment y = b.get(i);
            same(y.start, x.start, at, k);
            same(y.length, x.length, at, k);
            same(y.sentTime, x.sentTime, at, k);
            same(y.datagramSize, x.datagramSize, at, k);
            same((y.fin ? 1 : 0) | (y.sacked ? 2 : 0) | (y.lost ? 4 : 0) | (y.retransmitted ? 8 : 0),
                (x.fin ? 1 : 0) | (x.sacked ? 2 : 0) | (x.lost ? 4 : 0) | (x.retransmitted ? 8 : 0), at, k);
          }
        }
        if (r.nextInt(3000) == 0) {
          ref.clear();
          b.clear();
          una = next;
        }
      }
    }
  }

  private static void same(long actual, long expected, String at, int op) {
    if (actual != expected) {
      assertThat(actual).as(at + op).isEqualTo(expected);
    }
  }
}
