package org.q2q.ptcp.netty;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.DuplexChannel;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.util.ArrayDeque;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;

/**
 * A PTCP connection as blocking streams, for code that is not event-driven. Install it as the (last)
 * handler of a {@link PtcpChannel} ({@link PtcpSocket#connectStream} and {@link #acceptor} do), then
 * use {@link #inputStream()} and {@link #outputStream()} from any one reader and one writer thread.
 *
 * <ul>
 *   <li>Reading pulls from the channel with auto-read off; at most {@link #BUFFER_LIMIT} bytes are
 *       buffered, beyond which the PTCP receive window applies backpressure to the peer.
 *   <li>Writing blocks while the channel is not writable.
 *   <li>{@code outputStream().close()} half-closes (FIN); {@link #close()} closes the connection.
 * </ul>
 *
 * <p>Safe for one reading and one writing thread; the handler side runs on the event loop.
 */
public final class PtcpStream extends ChannelDuplexHandler implements Closeable {
  /** Bytes buffered for the reader before reading from the channel pauses. */
  public static final int BUFFER_LIMIT = 1 << 20;

  private final ReentrantLock lock = new ReentrantLock();
  private final Condition changed = lock.newCondition();
  /** Guarded by lock. */
  private final ArrayDeque<byte[]> chunks = new ArrayDeque<>();
  private int headPos;
  private long buffered;
  private boolean eof;
  private boolean writable = true;
  private boolean readRequested;
  private Throwable error;
  private volatile Channel channel;
  private final In in = new In();
  private final Out out = new Out();

  /** Creates an unattached stream; add it to a channel's pipeline. */
  public PtcpStream() {}

  /**
   * A child handler for {@link PtcpSocket#listen} that wraps every accepted connection in a stream and
   * hands it to {@code onAccept} (called on the event loop: do not block there).
   */
  public static ChannelHandler acceptor(Consumer<PtcpStream> onAccept) {
    return new ChannelInitializer<Channel>() {
      @Override
      protected void initChannel(Channel ch) {
        PtcpStream s = new PtcpStream();
        ch.pipeline().addLast(s);
        onAccept.accept(s);
      }
    };
  }

  @Override
  public boolean isSharable() {
    return false;
  }

  /** The channel (set once the handler is added). */
  public Channel channel() {
    return channel;
  }

  /** The reading side. */
  public InputStream inputStream() {
    return in;
  }

  /** The writing side; closing it half-closes the connection. */
  public OutputStream outputStream() {
    return out;
  }

  /** Closes the connection gracefully and wakes blocked threads. */
  @Override
  public void close() {
    Channel ch = channel;
    if (ch != null) {
      ch.close();
    }
  }

  // ---- event-loop side ----

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    channel = ctx.channel();
    ctx.channel().config().setAutoRead(false);
    ctx.channel().config().setOption(ChannelOption.ALLOW_HALF_CLOSURE, true);
    if (ctx.channel().isActive()) {
      requestRead(ctx);
    }
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) {
    requestRead(ctx);
    ctx.fireChannelActive();
  }

  private void requestRead(ChannelHandlerContext ctx) {
    lock.lock();
    try {
      if (buffered >= BUFFER_LIMIT || eof) {
        readRequested = false;
        return;
      }
      readRequested = true;
    } finally {
      lock.unlock();
    }
    ctx.read();
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (!(msg instanceof ByteBuf b)) {
      ctx.fireChannelRead(msg);
      return;
    }
    byte[] data = new byte[b.readableBytes()];
    b.readBytes(data);
    b.release();
    lock.lock();
    try {
      chunks.add(data);
      buffered += data.length;
      changed.signalAll();
    } finally {
      lock.unlock();
    }
  }

  @Override
  public void channelReadComplete(ChannelHandlerContext ctx) {
    requestRead(ctx);
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
    if (evt instanceof ChannelInputShutdownEvent) {
      finish(null);
    }
    ctx.fireUserEventTriggered(evt);
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    finish(null);
    lock.lock();
    try {
      writable = false;
      changed.signalAll();
    } finally {
      lock.unlock();
    }
    ctx.fireChannelInactive();
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    finish(cause);
  }

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) {
    lock.lock();
    try {
      writable = ctx.channel().isWritable();
      changed.signalAll();
    } finally {
      lock.unlock();
    }
    ctx.fireChannelWritabilityChanged();
  }

  private void finish(Throwable t) {
    lock.lock();
    try {
      eof = true;
      if (t != null && error == null) {
        error = t;
      }
      changed.signalAll();
    } finally {
      lock.unlock();
    }
  }

  // ---- blocking side ----

  private final class In extends InputStream {
    @Override
    public int read() throws IOException {
      byte[] one = new byte[1];
      int n = read(one, 0, 1);
      return n < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      if (len == 0) {
        return 0;
      }
      boolean wakeReader = false;
      int n;
      lock.lock();
      try {
        while (chunks.isEmpty()) {
          if (error != null) {
            throw error instanceof IOException io ? new IOException(io.getMessage(), io)
                : new IOException(error);
          }
          if (eof) {
            return -1;
          }
          changed.await();
        }
        byte[] head = chunks.peek();
        n = Math.min(len, head.length - headPos);
        System.arraycopy(head, headPos, b, off, n);
        headPos += n;
        if (headPos == head.length) {
          chunks.poll();
          headPos = 0;
        }
        long before = buffered;
        buffered -= n;
        wakeReader = !readRequested && before >= BUFFER_LIMIT / 2 && buffered < BUFFER_LIMIT / 2;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new InterruptedIOException();
      } finally {
        lock.unlock();
      }
      if (wakeReader) {
        Channel ch = channel;
        ch.eventLoop().execute(() -> {
          ChannelHandlerContext ctx = ch.pipeline().context(PtcpStream.this);
          if (ctx != null) {
            requestRead(ctx);
          }
        });
      }
      return n;
    }

    @Override
    public int available() {
      lock.lock();
      try {
        return (int) Math.min(Integer.MAX_VALUE, buffered);
      } finally {
        lock.unlock();
      }
    }

    @Override
    public void close() {
      PtcpStream.this.close();
    }
  }

  private final class Out extends OutputStream {
    private boolean closed;

    @Override
    public void write(int b) throws IOException {
      write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      if (closed) {
        throw new IOException("stream closed");
      }
      Channel ch = channel;
      lock.lock();
      try {
        while (!ch.isWritable()) {
          if (!ch.isActive()) {
            break;
          }
          writable = false;
          changed.await(100, java.util.concurrent.TimeUnit.MILLISECONDS);
        }
        if (error != null) {
          throw new IOException(error);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new InterruptedIOException();
      } finally {
        lock.unlock();
      }
      if (!ch.isActive()) {
        throw new IOException("connection closed");
      }
      ch.writeAndFlush(Unpooled.copiedBuffer(b, off, len), ch.voidPromise());
    }

    @Override
    public void close() throws IOException {
      if (closed) {
        return;
      }
      closed = true;
      Channel ch = channel;
      if (ch instanceof DuplexChannel d && ch.isActive()) {
        try {
          d.shutdownOutput().sync();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new InterruptedIOException();
        } catch (Exception e) {
          throw new IOException(e);
        }
      }
    }
  }
}
