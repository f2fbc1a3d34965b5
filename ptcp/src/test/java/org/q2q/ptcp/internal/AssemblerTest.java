package org.q2q.ptcp.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
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
  void scatteredOneByteSegmentsStopAtTheRangeCapAndContiguousDataStillMerges() {
    Assembler a = new Assembler(null);
    ByteBuffer d = ByteBuffer.allocate(10);
    long stored = 0;
    for (int i = 50_000; i > 0; i--) {
      stored += a.insert(2L * i, d, 0, 1); // descending, every other byte: each a new range
    }
    assertThat(stored).isEqualTo(Assembler.MAX_RANGES);
    assertThat(a.heldBytes()).isEqualTo(Assembler.MAX_RANGES);
    long[] l = new long[4];
    long[] r = new long[4];
    // bytes adjoining a held range still go in (they add no range)
    assertThat(a.insert(2L * 50_000 + 1, d, 0, 1)).isEqualTo(1);
    assertThat(a.sackBlocks(l, r, 4)).isPositive();
  }

  @Test
  void reportsSackBlocksLatestFirst() {
    Assembler a = new Assembler(null);
    ByteBuffer d = ByteBuffer.allocate(100);
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
      // As the connection uses it: in-order bytes appended to the receive ring, out-of-order ones
      // stored ahead of its end by the assembler; the reader drains the ring as it goes (it wraps).
      ByteRing ring = new ByteRing(stream.length, 0);
      Assembler a = new Assembler(ring);
      ByteBuffer src = ByteBuffer.wrap(stream);
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      ByteBuffer rd = ByteBuffer.allocate(3000);
      long rcvNxt = 0;
      for (int[] seg : segs) {
        long s = seg[0];
        long e = s + seg[1];
        if (e <= rcvNxt) {
          continue;
        }
        if (s <= rcvNxt) {
          ring.append(src, (int) rcvNxt, (int) (e - rcvNxt));
          rcvNxt = e;
          long end = a.drain(rcvNxt);
          ring.commit((int) (end - rcvNxt));
          rcvNxt = end;
        } else {
          a.insert(s, src, seg[0], seg[1]);
        }
        rd.clear();
        ring.read(rd);
        out.write(rd.array(), 0, rd.position());
      }
      while (ring.size() > 0) {
        rd.clear();
        ring.read(rd);
        out.write(rd.array(), 0, rd.position());
      }
      assertThat(rcvNxt).isEqualTo(stream.length);
      assertThat(out.toByteArray()).isEqualTo(stream);
      assertThat(a.heldBytes()).isZero();
    }
  }

  @Test
  void duplicatesAreNotStoredTwice() {
    Assembler a = new Assembler(new ByteRing(1 << 20, 0));
    ByteBuffer d = ByteBuffer.allocate(1000);
    assertThat(a.insert(100, d, 0, 500)).isEqualTo(500);
    assertThat(a.insert(100, d, 0, 500)).isZero();
    assertThat(a.insert(50, d, 0, 1000)).isEqualTo(500);
    assertThat(a.heldBytes()).isEqualTo(1000);
  }

  @Test
  void bytesAlreadyHeldAreKeptAndStoredOnceInTheRing() {
    ByteRing ring = new ByteRing(1 << 16, 0);
    Assembler a = new Assembler(ring);
    byte[] first = new byte[100];
    java.util.Arrays.fill(first, (byte) 'a');
    byte[] second = new byte[200];
    java.util.Arrays.fill(second, (byte) 'b');
    assertThat(a.insert(100, ByteBuffer.wrap(first), 0, 100)).isEqualTo(100);
    assertThat(a.insert(50, ByteBuffer.wrap(second), 0, 200)).isEqualTo(100); // [50,100) and [200,250)
    assertThat(a.heldBytes()).isEqualTo(200);
    byte[] head = new byte[50];
    java.util.Arrays.fill(head, (byte) 'h');
    ring.append(ByteBuffer.wrap(head), 0, 50);
    long end = a.drain(50);
    assertThat(end).isEqualTo(250);
    ring.commit((int) (end - 50));
    assertThat(a.isEmpty()).isTrue();
    ByteBuffer out = ByteBuffer.allocate(250);
    assertThat(ring.read(out)).isEqualTo(250);
    String got = new String(out.array(), java.nio.charset.StandardCharsets.ISO_8859_1);
    assertThat(got).isEqualTo("h".repeat(50) + "b".repeat(50) + "a".repeat(100) + "b".repeat(50));
  }

  /**
   * Random segments (duplicates, overlaps, gaps) into both the ring-backed assembler and the
   * straightforward reference: same new-byte counts, same SACK blocks after every segment, same bytes.
   */
  @Test
  void matchesTheReferenceOnRandomSegments() {
    for (int seed = 0; seed < 80; seed++) {
      Random rnd = new Random(seed);
      int size = 5000 + rnd.nextInt(40_000);
      byte[] stream = new byte[size];
      rnd.nextBytes(stream);
      ByteBuffer src = ByteBuffer.wrap(stream);
      ReferenceAssembler ref = new ReferenceAssembler();
      ByteRing ring = new ByteRing(1 << 16, 0);
      Assembler a = new Assembler(ring);
      ByteArrayOutputStream refOut = new ByteArrayOutputStream();
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      long[] start = new long[1];
      long[] l1 = new long[4];
      long[] r1 = new long[4];
      long[] l2 = new long[4];
      long[] r2 = new long[4];
      int maxSeg = 1 + rnd.nextInt(600);
      long rcvNxt = 0;
      while (rcvNxt < size) {
        long s = rcvNxt + (rnd.nextInt(4) == 0 ? -rnd.nextInt(200) : rnd.nextInt(Math.min(size, 8000)));
        s = Math.max(0, Math.min(size - 1, s));
        int len = (int) Math.min(size - s, 1 + rnd.nextInt(maxSeg));
        long e = s + len;
        if (e <= rcvNxt) {
          continue;
        }
        if (s <= rcvNxt) {
          refOut.write(stream, (int) rcvNxt, (int) (e - rcvNxt));
          ring.append(src, (int) rcvNxt, (int) (e - rcvNxt));
          long refNxt = e;
          byte[] c;
          while ((c = ref.pollReady(refNxt, start)) != null) {
            int skip = (int) (refNxt - start[0]);
            refOut.write(c, skip, c.length - skip);
            refNxt += c.length - skip;
          }
          ref.advance(refNxt);
          long end = a.drain(e);
          ring.commit((int) (end - e));
          assertThat(end).isEqualTo(refNxt);
          rcvNxt = end;
        } else {
          assertThat(a.insert(s, src, (int) s, len)).isEqualTo(ref.insert(s, stream, (int) s, len));
        }
        assertThat(a.heldBytes()).isEqualTo(ref.heldBytes());
        assertThat(a.isEmpty()).isEqualTo(ref.isEmpty());
        int n = a.sackBlocks(l2, r2, 4);
        assertThat(n).isEqualTo(ref.sackBlocks(l1, r1, 4));
        assertThat(java.util.Arrays.copyOf(l2, n)).isEqualTo(java.util.Arrays.copyOf(l1, n));
        assertThat(java.util.Arrays.copyOf(r2, n)).isEqualTo(java.util.Arrays.copyOf(r1, n));
        if (rnd.nextInt(3) == 0) {
          ByteBuffer rd = ByteBuffer.allocate(rnd.nextInt(5000));
          ring.read(rd);
          out.write(rd.array(), 0, rd.position());
        }
      }
      ByteBuffer rd = ByteBuffer.allocate(size);
      ring.read(rd);
      out.write(rd.array(), 0, rd.position());
      assertThat(refOut.toByteArray()).isEqualTo(stream);
      assertThat(out.toByteArray()).isEqualTo(stream);
    }
  }
}
