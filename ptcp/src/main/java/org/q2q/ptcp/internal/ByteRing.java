package org.q2q.ptcp.internal;

import java.nio.ByteBuffer;

/**
 * A growable ring of bytes addressed by 64-bit stream offsets: the send buffer (bytes from SND.UNA to
 * the last written byte) and the in-order receive buffer (bytes delivered but not yet read).
 *
 * <p>The receive buffer also holds out-of-order bytes beyond its end, at their own offsets
 * ({@link #writeAhead}), so a datagram's payload is copied once whatever order it arrives in;
 * {@link #commit} makes them part of the buffer when the gap below them is filled. Which bytes ahead
 * are valid is the {@link Assembler}'s business.
 *
 * <p>Every method copies: the ring owns its array and keeps no reference to a caller's buffer.
 * Capacity grows by doubling up to {@code maxCapacity}. Not thread-safe; event-loop only.
 */
public final class ByteRing {
  private static final int INITIAL = 16 * 1024;
  private byte[] buf;
  /** Index in {@link #buf} of the byte at {@link #startOffset}. */
  private int head;
  /** Bytes held. */
  private int size;
  /** Stream offset of the first byte held. */
  private long startOffset;
  private final int maxCapacity;
  /** Extent from {@link #startOffset} of the bytes stored, out-of-order ones included (kept when the array grows). */
  private int ahead;

  /** Creates an empty ring whose first byte will have stream offset {@code startOffset}. */
  public ByteRing(int maxCapacity, long startOffset) {
    this.maxCapacity = maxCapacity;
    this.startOffset = startOffset;
    this.buf = new byte[Math.min(INITIAL, Integer.highestOneBit(Math.max(1, maxCapacity - 1)) << 1)];
  }

  /** Bytes currently held. */
  public int size() {
    return size;
  }

  /** Room left before {@code maxCapacity}. */
  public int free() {
    return maxCapacity - size;
  }

  /** Stream offset of the first byte held. */
  public long startOffset() {
    return startOffset;
  }

  /** Stream offset one past the last byte held. */
  public long endOffset() {
    return startOffset + size;
  }

  private void ensure(int needed) {
    if (needed <= buf.length) {
      return;
    }
    int cap = buf.length;
    while (cap < needed) {
      cap <<= 1;
    }
    byte[] n = new byte[cap];
    copyOut(0, Math.max(size, ahead), n, 0);
    buf = n;
    head = 0;
  }

  private void copyOut(int from, int len, byte[] dst, int dstPos) {
    int mask = buf.length - 1;
    int idx = (head + from) & mask;
    int first = Math.min(len, buf.length - idx);
    System.arraycopy(buf, idx, dst, dstPos, first);
    if (first < len) {
      System.arraycopy(buf, 0, dst, dstPos + first, len - first);
    }
  }

  /** Appends as much of {@code src} as fits; returns the number of bytes copied. */
  public int append(ByteBuffer src) {
    int n = Math.min(src.remaining(), free());
    if (n == 0) {
      return 0;
    }
    ensure(size + n);
    int mask = buf.length - 1;
    int idx = (head + size) & mask;
    int first = Math.min(n, buf.length - idx);
    src.get(buf, idx, first);
    if (first < n) {
      src.get(buf, 0, n - first);
    }
    size += n;
    return n;
  }

  /**
   * Appends {@code len} bytes of {@code src} from its index {@code pos} (position and limit
   * untouched); caller guarantees they fit.
   */
  public void append(ByteBuffer src, int pos, int len) {
    put(size, src, pos, len);
    size += len;
  }

  /**
   * Stores {@code len} bytes of {@code src} from its index {@code pos} at stream offset
   * {@code offset} at or beyond the end, without making them readable; caller guarantees they fit
   * within {@code maxCapacity} of {@link #startOffset()}.
   */
  public void writeAhead(long offset, ByteBuffer src, int pos, int len) {
    int from = (int) (offset - startOffset);
    if (from < size || from + len > maxCapacity) {
      throw new IndexOutOfBoundsException("offset " + offset + " len " + len + " not ahead");
    }
    put(from, src, pos, len);
    ahead = Math.max(ahead, from + len);
  }

  /** Makes the next {@code len} bytes already stored by {@link #writeAhead} readable. */
  public void commit(int len) {
    size += len;
  }

  /** Forgets every byte stored ahead of the end. */
  public void dropAhead() {
    ahead = 0;
  }

  private void put(int from, ByteBuffer src, int pos, int len) {
    ensure(from + len);
    int mask = buf.length - 1;
    int idx = (head + from) & mask;
    int first = Math.min(len, buf.length - idx);
    src.get(pos, buf, idx, first);
    if (first < len) {
      src.get(pos + first, buf, 0, len - first);
    }
  }

  /** Copies {@code len} bytes starting at stream offset {@code offset} into {@code dst}. */
  public void copyTo(long offset, int len, ByteBuffer dst) {
    int from = (int) (offset - startOffset);
    if (from < 0 || from + len > size) {
      throw new IndexOutOfBoundsException("offset " + offset + " len " + len + " not held");
    }
    int mask = buf.length - 1;
    int idx = (head + from) & mask;
    int first = Math.min(len, buf.length - idx);
    dst.put(buf, idx, first);
    if (first < len) {
      dst.put(buf, 0, len - first);
    }
  }

  /** Discards bytes before stream offset {@code offset}. */
  public void releaseTo(long offset) {
    int n = (int) Math.min(size, offset - startOffset);
    if (n <= 0) {
      return;
    }
    head = (head + n) & (buf.length - 1);
    size -= n;
    startOffset += n;
    ahead = Math.max(0, ahead - n);
    if (size == 0 && ahead == 0) {
      head = 0;
    }
  }

  /** Moves up to {@code dst.remaining()} bytes from the head into {@code dst}; returns the count. */
  public int read(ByteBuffer dst) {
    int n = Math.min(dst.remaining(), size);
    if (n > 0) {
      copyTo(startOffset, n, dst);
      releaseTo(startOffset + n);
    }
    return n;
  }

  /** Frees the backing array; the ring must not be used afterwards. */
  public void release() {
    buf = new byte[1];
    head = 0;
    startOffset += size;
    size = 0;
    ahead = 0;
  }
}
