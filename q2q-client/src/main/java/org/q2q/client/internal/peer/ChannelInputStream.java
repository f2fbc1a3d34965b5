package org.q2q.client.internal.peer;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.util.ArrayDeque;
import java.util.Objects;

/**
 * Blocking reads from a virtual channel, for tools. It installs a handler at the end of the
 * channel's pipeline, turns autoRead off and asks for one more batch ({@code read()}, at most 64
 * KiB) only when its own buffer is empty, so what it holds is bounded and everything else stays
 * unconsumed in the channel (and chokes the peer when it reaches the high-water mark).
 *
 * <ul>
 *   <li>{@code read} blocks for data; -1 after the peer's end; {@code ChannelResetException}
 *       (naming the code) after a reset or lost session; {@code IOException} if the channel was
 *       closed locally.
 *   <li>{@code close}: after end of stream only releases; before it, closes the whole channel (the
 *       peer sees CANCEL), as a socket's stream would.
 * </ul>
 *
 * <p>Safe for concurrent use. Must not be used on the event loop.
 */
final class ChannelInputStream extends InputStream {
  static final String HANDLER_NAME = "q2q-input-stream";
  private static final long WAIT_MILLIS = 200;

  private final VirtualChildChannel ch;
  private final Object lock = new Object();
  /** Delivered chunks not yet read; owned by this stream. Guarded by lock. */
  private final ArrayDeque<ByteBuf> queue = new ArrayDeque<>();
  private long queuedBytes;
  private boolean readRequested;
  private boolean eof;
  private boolean inactive;
  private boolean closed;

  ChannelInputStream(VirtualChildChannel ch) {
    this.ch = ch;
    ch.config().setAutoRead(false);
    ch.pipeline().addLast(HANDLER_NAME, new Sink());
  }

  @Override
  public int read() throws IOException {
    byte[] one = new byte[1];
    int n = read(one, 0, 1);
    return n < 0 ? -1 : one[0] & 0xff;
  }

  @Override
  public int read(byte[] b, int off, int len) throws IOException {
    Objects.checkFromIndexSize(off, len, b.length);
    if (len == 0) {
      return 0;
    }
    if (ch.eventLoop().inEventLoop()) {
      throw new IllegalStateException("blocking stream of channel " + ch.channelId + " used on its event loop");
    }
    synchronized (lock) {
      for (; ; ) {
        if (closed) {
          throw new IOException("input stream of channel " + ch.channelId + " is closed");
        }
        ByteBuf head = queue.peekFirst();
        if (head != null) {
          int n = Math.min(len, head.readableBytes());
          head.readBytes(b, off, n);
          queuedBytes -= n;
          if (!head.isReadable()) {
            queue.pollFirst().release();
          }
          return n;
        }
        if (eof) {
          return -1;
        }
        if (inactive || !ch.isOpen()) {
          throw ch.endedException();
        }
        if (!readRequested) {
          readRequested = true;
          ch.read(); // hops onto the event loop; delivers one batch or the end when available
        }
        try {
          lock.wait(WAIT_MILLIS); // woken by the sink; the timeout only re-checks the channel state
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new InterruptedIOException("interrupted while reading channel " + ch.channelId);
        }
      }
    }
  }

  @Override
  public int available() {
    synchronized (lock) {
      return (int) Math.min(Integer.MAX_VALUE, queuedBytes);
    }
  }

  @Override
  public void close() {
    boolean atEnd;
    synchronized (lock) {
      if (closed) {
        return;
      }
      closed = true;
      atEnd = eof;
      releaseQueue();
      lock.notifyAll();
    }
    if (!atEnd) {
      ch.close();
    }
  }

  private void releaseQueue() {
    ByteBuf b;
    while ((b = queue.pollFirst()) != null) {
      b.release();
    }
    queuedBytes = 0;
  }

  /** The pipeline end of the stream; runs on the event loop. */
  private final class Sink extends ChannelInboundHandlerAdapter {
    /** @param msg a ByteBuf, owned by the stream from here on (released when read or closed) */
    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (!(msg instanceof ByteBuf buf)) {
        ctx.fireChannelRead(msg);
        return;
      }
      synchronized (lock) {
        if (closed) {
          buf.release();
          return;
        }
        queue.addLast(buf);
        queuedBytes += buf.readableBytes();
        lock.notifyAll();
      }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
      synchronized (lock) {
        readRequested = false;
        lock.notifyAll();
      }
      ctx.fireChannelReadComplete();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
      if (evt instanceof ChannelInputShutdownEvent) {
        synchronized (lock) {
          eof = true;
          lock.notifyAll();
        }
      }
      ctx.fireUserEventTriggered(evt);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      // Resets are reported by read() from the channel's failure; nothing else to do here.
      synchronized (lock) {
        lock.notifyAll();
      }
      ctx.fireExceptionCaught(cause);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      synchronized (lock) {
        inactive = true;
        lock.notifyAll();
      }
      ctx.fireChannelInactive();
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
      synchronized (lock) {
        inactive = true;
        lock.notifyAll();
      }
    }
  }
}
