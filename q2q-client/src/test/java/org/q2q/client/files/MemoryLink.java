package org.q2q.client.files;

import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.time.Duration;
import org.q2q.certstore.Address;

/**
 * Two {@link Link}s joined by bounded in-memory pipes (4 MiB each way), for tests and the
 * file-layer benchmark: the file protocol without a network, in one JVM.
 */
final class MemoryLink implements Link {
  /** A bounded byte pipe: writes block while full, reads while empty; end of stream and abort as on a channel. */
  static final class Pipe {
    private final byte[] ring;
    private int head;
    private int size;
    private boolean ended;
    private String aborted;
    /** Bytes that went through (tests cut a transfer after so many). */
    private long total;
    private long cutAfter = Long.MAX_VALUE;
    /** After a cut the reader still gets what was written before it, as from a killed process's socket. */
    private boolean drainFirst;

    Pipe(int capacity) {
      ring = new byte[capacity];
    }

    synchronized void cutAfter(long bytes) {
      cutAfter = bytes;
    }

    synchronized long total() {
      return total;
    }

    synchronized void write(byte[] b, int off, int len) throws IOException {
      while (len > 0) {
        while (size == ring.length && aborted == null) {
          waitHere();
        }
        if (aborted != null) {
          throw new IOException("link reset: " + aborted);
        }
        if (ended) {
          throw new IOException("output already ended");
        }
        if (total >= cutAfter) {
          drainFirst = true;
          abort("cut by the test after " + cutAfter + " bytes");
          throw new IOException("link reset: " + aborted);
        }
        int tail = (head + size) % ring.length;
        int n = (int) Math.min(Math.min(len, ring.length - size), Math.min(ring.length - tail, cutAfter - total));
        System.arraycopy(b, off, ring, tail, n);
        size += n;
        total += n;
        off += n;
        len -= n;
        notifyAll();
      }
    }

    synchronized int read(byte[] b, int off, int len) throws IOException {
      while (size == 0 && !ended && aborted == null) {
        waitHere();
      }
      if (aborted != null && !(drainFirst && size > 0)) {
        throw new IOException("link reset: " + aborted);
      }
      if (size == 0) {
        return -1;
      }
      int n = Math.min(len, Math.min(size, ring.length - head));
      System.arraycopy(ring, head, b, off, n);
      head = (head + n) % ring.length;
      size -= n;
      notifyAll();
      return n;
    }

    synchronized void end() {
      ended = true;
      notifyAll();
    }

    synchronized void abort(String why) {
      if (aborted == null) {
        aborted = why;
      }
      notifyAll();
    }

    synchronized void awaitEndOrAbort(Duration max) {
      long deadline = System.nanoTime() + max.toNanos();
      while (!ended && aborted == null && System.nanoTime() < deadline) {
        try {
          wait(Math.max(1, (deadline - System.nanoTime()) / 1_000_000));
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return;
        }
      }
    }

    private void waitHere() throws InterruptedIOException {
      try {
        wait();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new InterruptedIOException();
      }
    }
  }

  private final Pipe in;
  private final Pipe out;
  private final Address remote;

  private MemoryLink(Pipe in, Pipe out, Address remote) {
    this.in = in;
    this.out = out;
    this.remote = remote;
  }

  /** A connected pair: [0] is {@code a}'s end (its remote is {@code b}), [1] is {@code b}'s. */
  static MemoryLink[] pair(Address a, Address b) {
    Pipe ab = new Pipe(4 << 20);
    Pipe ba = new Pipe(4 << 20);
    return new MemoryLink[] {new MemoryLink(ba, ab, b), new MemoryLink(ab, ba, a)};
  }

  /** The pipe this end writes into. */
  Pipe outgoing() {
    return out;
  }

  @Override
  public InputStream input() {
    return new InputStream() {
      @Override
      public int read() throws IOException {
        byte[] one = new byte[1];
        return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
      }

      @Override
      public int read(byte[] b, int off, int len) throws IOException {
        return len == 0 ? 0 : in.read(b, off, len);
      }
    };
  }

  @Override
  public OutputStream output() {
    return new OutputStream() {
      @Override
      public void write(int b) throws IOException {
        write(new byte[] {(byte) b}, 0, 1);
      }

      @Override
      public void write(byte[] b, int off, int len) throws IOException {
        out.write(b, off, len);
      }

      @Override
      public void close() {
        out.end();
      }
    };
  }

  @Override
  public Address remote() {
    return remote;
  }

  @Override
  public String id() {
    return "memory link to " + remote;
  }

  @Override
  public void endOutput() {
    out.end();
  }

  @Override
  public void lingerAndClose(Duration max) {
    in.awaitEndOrAbort(max);
  }

  @Override
  public void abort(String why) {
    in.abort(why);
    out.abort(why);
  }
}
