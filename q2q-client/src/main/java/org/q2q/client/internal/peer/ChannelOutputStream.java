package org.q2q.client.internal.peer;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.util.concurrent.Future;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.util.Objects;

/**
 * Blocking writes onto a virtual channel, for tools. Each byte-array write copies the caller's
 * bytes into buffers of at most {@value #MAX_WRITE} bytes and flushes them ({@link
 * #write(ByteBuf)} hands a caller's buffer on as it is); it blocks while {@value
 * #MAX_OUTSTANDING} bytes are written but not yet handed to the transport, which is what happens
 * while the peer chokes the channel or the transport is not writable. {@link #flush()} is a no-op;
 * {@link #close()} half-closes and waits until the end was handed to the transport.
 *
 * <p>A peer that keeps its session alive but never lets a channel move would block a writer
 * forever, so a write or close that sees no progress (no outstanding byte handed on) for the
 * session's {@link PeerSessionConfig#writeStallTimeout()} resets the channel with CANCEL and
 * throws. Progress is measured with the session's clock.
 *
 * <p>Safe for concurrent use, though concurrent writers interleave whole chunks. Must not be used
 * on the event loop.
 */
final class ChannelOutputStream extends OutputStream implements ByteBufOutput {
  static final int MAX_WRITE = 64 * 1024;
  static final long MAX_OUTSTANDING = 1024 * 1024;

  private final VirtualChildChannel ch;
  private final java.time.Clock clock;
  private final long stallMillis;
  private final Object lock = new Object();
  /** Bytes written and not yet handed to the transport. Guarded by lock. */
  private long outstanding;
  /** The first failed write. Guarded by lock. */
  private Throwable writeFailure;
  /** Guarded by lock. */
  private boolean closed;

  ChannelOutputStream(VirtualChildChannel ch) {
    this.ch = ch;
    this.clock = ch.mux.config().clock();
    this.stallMillis = ch.mux.config().writeStallTimeout().toMillis();
  }

  @Override
  public void write(int b) throws IOException {
    write(new byte[] {(byte) b}, 0, 1);
  }

  @Override
  public void write(byte[] b, int off, int len) throws IOException {
    Objects.checkFromIndexSize(off, len, b.length);
    checkOpen();
    while (len > 0) {
      int n = Math.min(len, MAX_WRITE);
      awaitCapacity();
      ByteBuf buf = ch.alloc().buffer(n);
      buf.writeBytes(b, off, n);
      send(buf);
      off += n;
      len -= n;
    }
  }

  @Override
  public ByteBufAllocator alloc() {
    return ch.alloc();
  }

  @Override
  public void write(ByteBuf buf) throws IOException {
    try {
      checkOpen();
      awaitCapacity();
    } catch (IOException | RuntimeException e) {
      buf.release();
      throw e;
    }
    send(buf);
  }

  private void checkOpen() throws IOException {
    checkNotEventLoop();
    synchronized (lock) {
      if (closed) {
        throw new IOException("output stream of channel " + ch.channelId + " is closed");
      }
    }
  }

  /** Hands {@code buf} to the channel, which releases it once sent or on failure. */
  private void send(ByteBuf buf) {
    int n = buf.readableBytes();
    synchronized (lock) {
      outstanding += n;
    }
    ch.writeAndFlush(buf).addListener(f -> {
      synchronized (lock) {
        outstanding -= n;
        if (!f.isSuccess() && writeFailure == null) {
          writeFailure = f.cause();
        }
        lock.notifyAll();
      }
    });
  }

  private void awaitCapacity() throws IOException {
    awaitOutstandingBelow(MAX_OUTSTANDING);
  }

  /**
   * Waits until fewer than {@code limit} bytes are outstanding.
   *
   * @throws IOException if the channel failed, or no byte moved for the stall timeout (the channel
   *     is then reset)
   */
  private void awaitOutstandingBelow(long limit) throws IOException {
    synchronized (lock) {
      long seen = outstanding;
      long progressAt = clock.millis();
      for (; ; ) {
        if (writeFailure != null || !ch.isOpen() || ch.outputLost()) {
          throw failure();
        }
        boolean active = ch.isActive(); // an accepted channel is handed out just before it is activated
        if (active && outstanding < limit) {
          return;
        }
        long now = clock.millis();
        if (outstanding != seen) {
          seen = outstanding;
          progressAt = now;
        } else if (now - progressAt >= stallMillis) {
          throw stalled(now - progressAt);
        }
        try {
          // woken by each completion or failure; activation wakes no one, and comes at once
          lock.wait(active ? Math.max(1, Math.min(200, stallMillis)) : 1);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new InterruptedIOException("interrupted while channel " + ch.channelId + " was choked");
        }
      }
    }
  }

  /** Resets the stalled channel and says so. */
  private IOException stalled(long millis) {
    String why = "no progress writing for " + millis + " ms (write stall timeout " + stallMillis + " ms)";
    ch.mux.resetByApplication(ch, why);
    return new IOException("channel " + ch.channelId + " (" + ch.service + "): " + why
        + "; the peer is not reading");
  }

  private IOException failure() {
    IOException e = ch.endedException();
    if (ch.failure() == null && writeFailure != null && ch.isOpen()) {
      return new IOException("write on channel " + ch.channelId + " failed: " + writeFailure, writeFailure);
    }
    return e;
  }

  /** No-op: every write is flushed. */
  @Override
  public void flush() {}

  /**
   * Half-closes: sends the end after every byte written and waits until it was handed to the
   * transport. Idempotent.
   *
   * @throws IOException naming the error code if the channel was reset before the end was sent
   */
  @Override
  public void close() throws IOException {
    synchronized (lock) {
      if (closed) {
        return;
      }
      closed = true;
    }
    checkNotEventLoop();
    awaitOutstandingBelow(1); // active, and every byte handed on, with the stall timeout
    Future<Void> end = ch.shutdownOutput();
    try {
      if (!end.await(Math.max(1, stallMillis))) {
        throw stalled(stallMillis);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted while ending channel " + ch.channelId);
    }
    if (!end.isSuccess()) {
      throw ch.endedException();
    }
  }

  private void checkNotEventLoop() {
    if (ch.eventLoop().inEventLoop()) {
      throw new IllegalStateException("blocking stream of channel " + ch.channelId + " used on its event loop");
    }
  }
}
