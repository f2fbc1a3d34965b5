package org.q2q.ptcp.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Feeds the reassembly queue out-of-order, overlapping and duplicate segments. */
@Timeout(value = 10, unit = TimeUnit.SECONDS)
class AssemblerTest {
  @Test
  void reportsSackBlocksLatestFirst() {
    Assembler a = new Assembler();
    byte[] d = new byte[100];
    a.insert(1000, d, 0, 100);
    a.insert(3000, d, 0, 100);
    a.insert(1100, d, 0, 100); // merges with the first range
    long[] l = new long[4];
    long[] r = new long[4];
    int n = a.sackBlocks(l, r, 4);
    assertThat(n).isEqualTo(2);
    assertThat(l[0]).isEqualTo(1000);
    assertThat(r[0]).isEqualTo(1200);
    assertThat(l[1]).isEqualTo(3000);
    assertThat(r[1]).isEqualTo(3100);
    a.insert(3100, d, 0, 50);
    n = a.sackBlocks(l, r, 4);
    assertThat(l[0]).isEqualTo(3000);
    assertThat(r[0]).isEqualTo(3150);
  }

  @Test
  void randomSegmentsReassembleExactly() {
    Random rnd = new Random(7);
    for (int round = 0; round < 50; round++) {
      byte[] stream = new byte[20_000];
      rnd.nextBytes(stream);
      List<int[]> segs = new ArrayList<>();
      for (int i = 0; i < 400; i++) {
        int s = rnd.nextInt(stream.length);
        segs.add(new int[] {s, Math.min(stream.length - s, 1 + rnd.nextInt(700))});
      }
      for (int s = 0; s < stream.length; s += 500) {
        segs.add(new int[] {s, Math.min(500, stream.length - s)}); // full coverage
      }
      Collections.shuffle(segs, rnd);
      Assembler a = new Assembler();
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      long rcvNxt = 0;
      long[] start = new long[1];
      for (int[] seg : segs) {
        long s = seg[0];
        long e = s + seg[1];
        if (e <= rcvNxt) {
          continue;
        }
        if (s <= rcvNxt) {
          int skip = (int) (rcvNxt - s);
          out.write(stream, (int) rcvNxt, seg[1] - skip);
          rcvNxt = e;
        } else {
          a.insert(s, stream, seg[0], seg[1]);
        }
        byte[] c;
        while ((c = a.pollReady(rcvNxt, start)) != null) {
          int skip = (int) (rcvNxt - start[0]);
          out.write(c, skip, c.length - skip);
          rcvNxt += c.length - skip;
        }
        a.advance(rcvNxt);
      }
      assertThat(rcvNxt).isEqualTo(stream.length);
      assertThat(out.toByteArray()).isEqualTo(stream);
      assertThat(a.heldBytes()).isZero();
    }
  }

  @Test
  void duplicatesAreNotStoredTwice() {
    Assembler a = new Assembler();
    byte[] d = new byte[1000];
    assertThat(a.insert(100, d, 0, 500)).isEqualTo(500);
    assertThat(a.insert(100, d, 0, 500)).isZero();
    assertThat(a.insert(50, d, 0, 1000)).isEqualTo(500);
    assertThat(a.heldBytes()).isEqualTo(1000);
  }
}
