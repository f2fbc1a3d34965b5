package org.q2q.client.files;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.io.FilterInputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.q2q.certstore.Address;
import org.q2q.client.VirtualChannel;
import org.q2q.client.internal.peer.ByteBufOutput;

/**
 * The two blocking streams a transfer runs on, and how to end them: a virtual channel in
 * production, an in-memory pipe in tests and the file-layer benchmark.
 */
interface Link {
  /** The peer's bytes. */
  InputStream input();

  /** Bytes to the peer. */
  OutputStream output();

  /**
   * Where file data can go in direct buffers, skipping the copy of {@link #output()}'s byte
   * writes; null if this link has no such path. Bytes written here follow those written to
   * {@link #output()} before (flush that first).
   */
  default ByteBufOutput bufferOutput() {
    return null;
  }

  /** The peer's verified address. */
  Address remote();

  /** For log messages, e.g. "channel 3". */
  String id();

  /** Half-closes: no more bytes from this side. */
  void endOutput() throws IOException;

  /** Waits up to {@code max} for the peer to close (so it can read our last words first), then closes. */
  void lingerAndClose(Duration max);

  /** Aborts both directions now; blocked reads and writes fail. */
  void abort(String why);

  /** A link on a virtual channel. */
  static Link of(VirtualChannel ch) {
    return new Link() {
      @Override
      public InputStream input() {
        return ch.inputStream();
      }

      @Override
      public OutputStream output() {
        return ch.outputStream();
      }

      @Override
      public ByteBufOutput bufferOutput() {
        return ch.outputStream() instanceof ByteBufOutput o ? o : null;
      }

      @Override
      public Address remote() {
        return ch.remoteAddress();
      }

      @Override
      public String id() {
        return "channel " + ch.id();
      }

      @Override
      public void endOutput() throws IOException {
        ch.outputStream().close();
      }

      @Override
      public void lingerAndClose(Duration max) {
        ch.closeFuture().awaitUninterruptibly(max.toMillis(), TimeUnit.MILLISECONDS);
        ch.close();
      }

      @Override
      public void abort(String why) {
        ch.reset(why);
      }
    };
  }

  /** The link failed (reset, lost, closed): the other side's or the network's doing, not the disk's. */
  final class Broken extends IOException {
    private static final long serialVersionUID = 1L;

    Broken(IOException cause) {
      super(String.valueOf(cause.getMessage()), cause);
    }
  }

  /** An input stream that reports progress to {@code watchdog} and marks its failures {@link Broken}. */
  static InputStream watched(InputStream in, IdleWatchdog watchdog) {
    return new FilterInputStream(in) {
      @Override
      public int read() throws IOException {
        try {
          int b = in.read();
          watchdog.touch();
          return b;
        } catch (IOException e) {
          throw new Broken(e);
        }
      }

      @Override
      public int read(byte[] b, int off, int len) throws IOException {
        try {
          int n = in.read(b, off, len);
          watchdog.touch();
          return n;
        } catch (IOException e) {
          throw new Broken(e);
        }
      }
    };
  }

  /** An output stream that reports progress to {@code watchdog}; large writes pass through whole. */
  static OutputStream watched(OutputStream out, IdleWatchdog watchdog) {
    return new FilterOutputStream(out) {
      @Override
      public void write(int b) throws IOException {
        try {
          out.write(b);
          watchdog.touch();
        } catch (IOException e) {
          throw new Broken(e);
        }
      }

      @Override
      public void write(byte[] b, int off, int len) throws IOException {
        // in slices, so a long write into a slow peer still shows progress while it moves
        try {
          while (len > 0) {
            int n = Math.min(len, 256 * 1024);
            out.write(b, off, n);
            watchdog.touch();
            off += n;
            len -= n;
          }
        } catch (IOException e) {
          throw new Broken(e);
        }
      }
    };
  }

  /** {@code out} reporting progress to {@code watchdog}, its failures as {@link Broken}. */
  static ByteBufOutput watched(ByteBufOutput out, IdleWatchdog watchdog) {
    return new ByteBufOutput() {
      @Override
      public ByteBufAllocator alloc() {
        return out.alloc();
      }

      @Override
      public void write(ByteBuf buf) throws IOException {
        try {
          out.write(buf);
          watchdog.touch();
        } catch (IOException e) {
          throw new Broken(e);
        }
      }
    };
  }
}
