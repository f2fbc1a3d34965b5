package org.q2q.client.internal.peer;

import io.netty.buffer.ByteBuf;
import io.netty.channel.AbstractChannel;
import io.netty.channel.ChannelConfig;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelMetadata;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.channel.ChannelPromise;
import io.netty.channel.DefaultChannelConfig;
import io.netty.channel.DefaultChannelPipeline;
import io.netty.channel.EventLoop;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.ChannelInputShutdownReadComplete;
import io.netty.channel.socket.ChannelOutputShutdownEvent;
import io.netty.channel.socket.ChannelOutputShutdownException;
import io.netty.channel.socket.DuplexChannel;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.DefaultPromise;
import io.netty.util.concurrent.Promise;
import io.netty.util.internal.StringUtil;
import java.net.SocketAddress;
import java.nio.channels.ClosedChannelException;
import java.util.ArrayDeque;
import org.q2q.client.ChannelResetException;
import org.q2q.client.VirtualChannel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One virtual channel as a child Netty {@link io.netty.channel.Channel} of the peer session's
 * transport, modelled on Netty's {@code AbstractHttp2StreamChannel}: its own pipeline, on the
 * parent's event loop, writes leave through the parent via the {@link Multiplexer}.
 *
 * <ul>
 *   <li><b>Reading</b>: received chunks wait in {@link #inbound} (they are the channel's
 *       unconsumed bytes, see {@link ReceiveBudget}) until the application asks. Chunks smaller
 *       than {@value #COALESCE_BELOW} bytes are copied into shared {@value #COALESCE_CAPACITY}-byte
 *       buffers, so one-byte frames cost about a byte each, not a buffer each; the memory queued
 *       (capacity plus overhead) counts against the session's receive budget ({@link
 *       Multiplexer#buffered}). Each {@code read()}
 *       (explicit or from autoRead, which is off initially) delivers up to 64 KiB to the pipeline,
 *       and delivered bytes count as consumed. The peer's end is delivered after the last byte as
 *       {@link ChannelInputShutdownEvent} + {@link ChannelInputShutdownReadComplete}; half-closure
 *       is always allowed (the channel stays open for writing).
 *   <li><b>Writing</b>: flushed {@code ByteBuf}s stay in this channel's outbound buffer until the
 *       multiplexer's round-robin scheduler takes them a chunk at a time; so {@link #isWritable()}
 *       turns false when the buffer passes its high-water mark, and also while the peer has choked
 *       the channel (user-defined writability bit {@value #CHOKE_WRITABILITY_BIT}). A write promise
 *       completes when its last byte was handed to the transport.
 *   <li><b>Closing</b>: {@link #shutdownOutput()} sends the end after the buffered bytes; {@code
 *       close()} resets the channel with CANCEL unless both directions already ended.
 * </ul>
 *
 * <p>State is confined to the event loop except the volatile flags read by {@code isOpen()} etc.
 */
final class VirtualChildChannel extends AbstractChannel implements DuplexChannel {
  private static final Logger log = LoggerFactory.getLogger(VirtualChildChannel.class);
  private static final ChannelMetadata METADATA = new ChannelMetadata(false, 16);
  /** Writability bit cleared while the peer chokes this channel. */
  static final int CHOKE_WRITABILITY_BIT = 1;
  /** Most bytes one read() delivers, so a stream adapter buffers a bounded amount. */
  static final int MAX_BYTES_PER_READ = 256 * 1024;
  /** Received chunks smaller than this are copied into a shared buffer instead of kept alone. */
  static final int COALESCE_BELOW = 256;
  /** Capacity of the buffers small chunks are copied into. */
  static final int COALESCE_CAPACITY = 4096;
  /** Memory a queued chunk costs beyond its capacity (buffer object, queue slot), bytes. */
  static final int CHUNK_OVERHEAD = 96;

  final Multiplexer mux;
  final long channelId;
  final String service;
  final boolean locallyOpened;
  private final DefaultChannelConfig config;
  private final VirtualChannelAddress local;
  private final VirtualChannelAddress remote;
  private final RealVirtualChannel handle;
  /** Completes when the channel closed: success, or the failure that ended it. */
  private final Promise<Void> termination;

  private volatile boolean open = true;
  private volatile boolean active;
  /** Set when a reset was sent or received, so closing sends no second one. */
  boolean resetExchanged;
  /** Why the channel ended abnormally (peer reset, protocol violation, lost session), or null. */
  private volatile ChannelResetException failure;
  /** For channels this side opens: completed on accept, failed on reset. */
  Promise<VirtualChannel> openPromise;

  // Receive side (event loop only).
  /** Received chunks not yet delivered: the channel's unconsumed bytes. Owned by this channel. */
  private final ArrayDeque<ByteBuf> inbound = new ArrayDeque<>();
  /** The last buffer of {@link #inbound} if small chunks may still be copied into it, else null. */
  private ByteBuf coalesceTail;
  private final ReceiveBudget budget;
  private boolean readPending;
  private boolean delivering;
  private boolean remoteEnded;
  private volatile boolean inputShutdown;
  /** How many chokes this side sent (diagnostics and tests). */
  private volatile int chokesSent;

  // Send side (event loop only).
  /** Maintained by {@link WriteScheduler}: true while queued for a turn. */
  boolean scheduled;
  private volatile boolean chokedByPeer;
  private volatile boolean outputShutdownRequested;
  private volatile boolean endSent;
  private ChannelPromise endPromise;

  VirtualChildChannel(
      Multiplexer mux, long channelId, String service, boolean locallyOpened, PeerSessionConfig cfg) {
    super(mux.parentChannel());
    this.mux = mux;
    this.channelId = channelId;
    this.service = service;
    this.locallyOpened = locallyOpened;
    this.config = new DefaultChannelConfig(this);
    config.setAutoRead(false);
    config.setWriteBufferWaterMark(new WriteBufferWaterMark(64 * 1024, 128 * 1024));
    this.budget = new ReceiveBudget(cfg.receiveLowWaterMark(), cfg.receiveHighWaterMark(), cfg.overrunAllowance());
    this.local = new VirtualChannelAddress(mux.localAddress(), service, channelId);
    this.remote = new VirtualChannelAddress(mux.remoteAddress(), service, channelId);
    this.termination = new DefaultPromise<>(mux.parentChannel().eventLoop());
    this.handle = new RealVirtualChannel(this, mux.session());
  }

  /** The public face of this channel. */
  RealVirtualChannel handle() {
    return handle;
  }

  Promise<Void> termination() {
    return termination;
  }

  ChannelResetException failure() {
    return failure;
  }

  /**
   * A fresh exception for a blocking caller finding the channel ended: a copy of the reset (same
   * code) if it was reset or its session lost, else "closed".
   */
  java.io.IOException endedException() {
    ChannelResetException f = failure;
    if (f != null) {
      return new ChannelResetException(f.code(), f.channelId(), f.byPeer(), f.reason(), f);
    }
    return new java.io.IOException("channel " + channelId + " (" + service + ") is closed");
  }

  /** Unconsumed bytes buffered for the application (event loop; approximate elsewhere). */
  long unconsumedBytes() {
    return budget.unconsumed();
  }

  /** Received chunks queued, not yet delivered (event loop). */
  int queuedChunks() {
    return inbound.size();
  }

  int chokesSent() {
    return chokesSent;
  }

  boolean isChokedByPeer() {
    return chokedByPeer;
  }

  // ---- lifecycle, called by the multiplexer on the event loop ----

  /** The channel was accepted: it becomes active and fires channelActive. */
  void activate() {
    if (open && !active) {
      active = true;
      pipeline().fireChannelActive();
    }
  }

  /**
   * Ends the channel abnormally: buffered input is dropped, the pipeline sees {@code
   * exceptionCaught(cause)}, then the channel closes. The caller has sent (or received) the reset.
   */
  void fail(ChannelResetException cause) {
    if (!open) {
      return;
    }
    resetExchanged = true;
    failure = cause;
    releaseInbound();
    if (openPromise != null) {
      openPromise.tryFailure(cause);
    }
    if (active) {
      pipeline().fireExceptionCaught(cause);
    }
    unsafe().close(voidPromise());
  }

  /**
   * The session under this channel ended. A channel that already received the peer's end has all
   * its input: it is not failed, so the application still reads what arrived before the session's
   * end, then the end of stream, and the channel closes once that end is delivered. The peer that
   * closes its session right after its last words (a receiver's "stored and verified", a service's
   * last response) must not have them dropped here, unread, in favour of SESSION_LOST. If this
   * side's end was not written yet, only the output fails ({@link #loseOutput}). Any other channel
   * fails with {@code cause}.
   */
  void sessionEnded(ChannelResetException cause) {
    if (!open) {
      return;
    }
    if (remoteEnded) {
      if (!endSent) {
        loseOutput(cause);
      }
      deliver(); // delivers whatever a pending read waits for; maybeFinished closes after the end
      mux.maybeFinished(this);
      return;
    }
    fail(cause);
  }

  /**
   * The output can no longer reach the peer, but the input is complete and stays readable: writes
   * waiting to be sent, later writes and a requested end fail with {@code cause}, which the channel
   * also ends with once its input is delivered.
   */
  private void loseOutput(ChannelResetException cause) {
    failure = cause; // on a channel still open, this alone marks the lost output (fail() closes at once)
    resetExchanged = true; // nothing can be said to the peer any more
    ChannelOutboundBuffer out = unsafe().outboundBuffer();
    if (out != null) {
      while (out.current() != null) {
        out.remove(cause); // the flushed writes; unflushed ones fail when the channel closes
      }
    }
    if (endPromise != null) {
      endPromise.tryFailure(cause);
    }
  }

  /** True once the output failed with the session while the input stayed readable (any thread). */
  boolean outputLost() {
    return open && failure != null;
  }

  // ---- receive side ----

  /** @param data a received chunk; released by this method (queued and later delivered, or dropped) */
  void onData(ByteBuf data) {
    if (!open) {
      data.release();
      return;
    }
    if (remoteEnded) {
      data.release();
      mux.resetChannel(this, org.q2q.client.Q2qErrorCode.PROTOCOL_ERROR, "data after the end of channel " + channelId);
      return;
    }
    int n = data.readableBytes();
    switch (budget.received(n)) {
      case OVERRUN -> {
        data.release();
        mux.resetChannel(
            this,
            org.q2q.client.Q2qErrorCode.FLOW_CONTROL_ERROR,
            "channel " + channelId + " was sent " + budget.unconsumed() + " unconsumed bytes, more than the choke"
                + " allows (" + budget.limit() + ")");
        return;
      }
      case CHOKE -> {
        chokesSent++;
        mux.sendChoke(this);
      }
      case OK -> {}
    }
    enqueue(data);
    deliver();
  }

  /** @param data released by this method if copied, else queued as it is */
  private void enqueue(ByteBuf data) {
    int n = data.readableBytes();
    if (coalesceTail != null && coalesceTail == inbound.peekLast() && coalesceTail.writableBytes() >= n) {
      coalesceTail.writeBytes(data);
      data.release();
      return;
    }
    if (n < COALESCE_BELOW) {
      ByteBuf tail = alloc().buffer(COALESCE_CAPACITY, COALESCE_CAPACITY);
      tail.writeBytes(data);
      data.release();
      coalesceTail = tail;
      data = tail;
    } else {
      coalesceTail = null;
    }
    inbound.addLast(data);
    mux.buffered(memoryCost(data));
  }

  /** What a queued chunk costs: its capacity (constant while queued) plus the overhead. */
  private static long memoryCost(ByteBuf queued) {
    return (long) queued.capacity() + CHUNK_OVERHEAD;
  }

  /** The next queued chunk, no longer counted against the session budget, or null. */
  private ByteBuf dequeue() {
    ByteBuf b = inbound.pollFirst();
    if (b != null) {
      if (b == coalesceTail) {
        coalesceTail = null;
      }
      mux.buffered(-memoryCost(b));
    }
    return b;
  }

  /** The peer ended its output. */
  void onEnd() {
    if (!open || remoteEnded) {
      return;
    }
    remoteEnded = true;
    deliver();
  }

  boolean remoteEnded() {
    return remoteEnded;
  }

  /** Hands queued chunks to the pipeline while a read is pending; see the class comment. */
  private void deliver() {
    if (delivering) {
      return; // a re-entrant read() from channelReadComplete only sets readPending
    }
    delivering = true;
    try {
      while (readPending && open) {
        if (inbound.isEmpty()) {
          if (remoteEnded && !inputShutdown) {
            readPending = false;
            inputShutdown = true;
            pipeline().fireUserEventTriggered(ChannelInputShutdownEvent.INSTANCE);
            pipeline().fireUserEventTriggered(ChannelInputShutdownReadComplete.INSTANCE);
            mux.maybeFinished(this);
          }
          break;
        }
        readPending = false;
        int batch = 0;
        ByteBuf chunk;
        while (batch < MAX_BYTES_PER_READ && open && (chunk = dequeue()) != null) {
          int n = chunk.readableBytes();
          batch += n;
          if (budget.consumed(n)) {
            mux.sendUnchoke(this);
          }
          pipeline().fireChannelRead(chunk);
        }
        pipeline().fireChannelReadComplete();
      }
    } finally {
      delivering = false;
    }
  }

  private void releaseInbound() {
    ByteBuf b;
    while ((b = dequeue()) != null) {
      b.release();
    }
  }

  // ---- send side ----

  void onChoke() {
    if (!chokedByPeer) {
      chokedByPeer = true;
      setChokeWritability(false);
    }
  }

  void onUnchoke() {
    if (chokedByPeer) {
      chokedByPeer = false;
      setChokeWritability(true);
      if (hasPendingData() || endDue()) {
        mux.schedule(this);
      }
    }
  }

  private void setChokeWritability(boolean writable) {
    ChannelOutboundBuffer out = unsafe().outboundBuffer();
    if (out != null) {
      out.setUserDefinedWritability(CHOKE_WRITABILITY_BIT, writable);
    }
  }

  /** True if flushed bytes wait to be sent. */
  boolean hasPendingData() {
    ChannelOutboundBuffer out = unsafe().outboundBuffer();
    return out != null && out.current() != null;
  }

  /**
   * Takes up to {@code max} flushed bytes off the outbound buffer (completing the promises of
   * writes fully taken).
   *
   * @return a chunk the caller owns and must release (normally by writing it), or null if none
   */
  ByteBuf pollChunk(int max) {
    ChannelOutboundBuffer out = unsafe().outboundBuffer();
    if (out == null) {
      return null;
    }
    for (; ; ) {
      Object msg = out.current();
      if (msg == null) {
        return null;
      }
      ByteBuf buf = (ByteBuf) msg;
      int readable = buf.readableBytes();
      if (readable == 0) {
        out.remove();
        continue;
      }
      int n = Math.min(readable, max);
      ByteBuf chunk = buf.retainedSlice(buf.readerIndex(), n);
      out.removeBytes(n);
      return chunk;
    }
  }

  /** True if the end must be sent now: requested and every flushed byte already taken. */
  boolean endDue() {
    return outputShutdownRequested && !endSent && !hasPendingData();
  }

  /** The end frame was handed to the transport. */
  void endWritten() {
    endSent = true;
    if (endPromise != null) {
      endPromise.trySuccess();
    }
    pipeline().fireUserEventTriggered(ChannelOutputShutdownEvent.INSTANCE);
    mux.maybeFinished(this);
  }

  boolean endSent() {
    return endSent;
  }

  boolean inputShutdownDelivered() {
    return inputShutdown;
  }

  // ---- DuplexChannel ----

  @Override
  public boolean isInputShutdown() {
    return inputShutdown;
  }

  @Override
  public ChannelFuture shutdownInput() {
    return shutdownInput(newPromise());
  }

  /** Not supported: a channel's input ends when the peer ends it; use close() or reset. */
  @Override
  public ChannelFuture shutdownInput(ChannelPromise promise) {
    promise.setFailure(
        new UnsupportedOperationException("a virtual channel's input ends when the peer ends it; use close() to abort"));
    return promise;
  }

  @Override
  public boolean isOutputShutdown() {
    return outputShutdownRequested;
  }

  @Override
  public ChannelFuture shutdownOutput() {
    return shutdownOutput(newPromise());
  }

  /** Sends the end after every byte flushed so far; the promise completes once it is written. */
  @Override
  public ChannelFuture shutdownOutput(ChannelPromise promise) {
    EventLoop loop = eventLoop();
    if (loop.inEventLoop()) {
      shutdownOutput0(promise);
    } else {
      loop.execute(() -> shutdownOutput0(promise));
    }
    return promise;
  }

  private void shutdownOutput0(ChannelPromise promise) {
    if (outputLost()) {
      promise.tryFailure(endedException());
      return;
    }
    if (outputShutdownRequested) {
      if (endSent) {
        promise.trySuccess();
      } else if (endPromise != null) {
        endPromise.addListener(f -> {
          if (f.isSuccess()) {
            promise.trySuccess();
          } else {
            promise.tryFailure(f.cause());
          }
        });
      }
      return;
    }
    if (!isActive()) {
      promise.tryFailure(closedCause("shutdownOutput"));
      return;
    }
    flush();
    outputShutdownRequested = true;
    endPromise = promise;
    mux.schedule(this);
  }

  @Override
  public boolean isShutdown() {
    return inputShutdown && endSent;
  }

  @Override
  public ChannelFuture shutdown() {
    return shutdownOutput();
  }

  @Override
  public ChannelFuture shutdown(ChannelPromise promise) {
    return shutdownOutput(promise);
  }

  private Exception closedCause(String what) {
    ChannelResetException f = failure;
    if (f != null) {
      return f;
    }
    ClosedChannelException e = new ClosedChannelException();
    e.initCause(new IllegalStateException(what + " on closed channel " + channelId));
    return e;
  }

  // ---- AbstractChannel ----

  @Override
  protected AbstractUnsafe newUnsafe() {
    return new ChildUnsafe();
  }

  @Override
  protected DefaultChannelPipeline newChannelPipeline() {
    return new ChildPipeline(this);
  }

  @Override
  protected boolean isCompatible(EventLoop loop) {
    return loop == mux.parentChannel().eventLoop(); // all channel state is confined to that loop
  }

  @Override
  protected SocketAddress localAddress0() {
    return local;
  }

  @Override
  protected SocketAddress remoteAddress0() {
    return remote;
  }

  @Override
  protected void doBind(SocketAddress localAddress) {
    throw new UnsupportedOperationException("virtual channels cannot be bound");
  }

  @Override
  protected void doDisconnect() {
    doClose();
  }

  @Override
  protected void doClose() {
    if (!open) {
      return;
    }
    open = false;
    active = false;
    releaseInbound();
    if (openPromise != null) {
      openPromise.tryFailure(closedCause("open"));
    }
    mux.childClosed(this);
    ChannelResetException f = failure;
    if (f != null) {
      termination.tryFailure(f);
    } else {
      termination.trySuccess(null);
    }
  }

  @Override
  protected void doBeginRead() {
    readPending = true;
    deliver();
  }

  @Override
  protected void doWrite(ChannelOutboundBuffer in) {
    // Bytes stay in the outbound buffer until the scheduler takes them (bounded memory, fairness).
    mux.schedule(this);
  }

  /** @param msg must be a ByteBuf; on rejection the caller (AbstractUnsafe) releases it */
  @Override
  protected Object filterOutboundMessage(Object msg) throws Exception {
    if (msg instanceof ByteBuf) {
      if (outputLost()) {
        throw endedException();
      }
      if (outputShutdownRequested) {
        throw new ChannelOutputShutdownException("channel " + channelId + " output was shut down");
      }
      return msg;
    }
    throw new UnsupportedOperationException(
        "unsupported message type: " + StringUtil.simpleClassName(msg) + " (virtual channels carry ByteBuf)");
  }

  @Override
  public ChannelConfig config() {
    return config;
  }

  @Override
  public boolean isOpen() {
    return open;
  }

  @Override
  public boolean isActive() {
    return open && active;
  }

  @Override
  public ChannelMetadata metadata() {
    return METADATA;
  }

  @Override
  public String toString() {
    return "[" + mux.logId() + " ch " + channelId + " " + service + "]";
  }

  private final class ChildUnsafe extends AbstractUnsafe {
    @Override
    public void connect(SocketAddress remoteAddress, SocketAddress localAddress, ChannelPromise promise) {
      promise.setFailure(new UnsupportedOperationException("virtual channels are opened through their PeerSession"));
    }

    /**
     * Before the close drops the outbound buffer: what this channel handed over and the write loop
     * could not send yet (the transport was not writable, its deferred task not yet run) leaves
     * first, so the peer gets the last bytes and the end rather than a reset in their place. Not
     * after a reset: the peer has dropped the channel.
     */
    @Override
    public void close(ChannelPromise promise) {
      if (!resetExchanged && isOpen()) {
        mux.writeBeforeClose();
      }
      super.close(promise);
    }
  }

  /**
   * What reaches the end of the child pipeline. A reset is only logged (it is reported through
   * closeFuture and the streams); any other exception means the application's handler failed, so
   * that channel alone is reset with INTERNAL_ERROR (the peer learns nothing more; the cause is
   * logged here once) instead of being logged and ignored as Vertex did.
   */
  private static final class ChildPipeline extends DefaultChannelPipeline {
    ChildPipeline(VirtualChildChannel channel) {
      super(channel);
    }

    @Override
    protected void onUnhandledInboundException(Throwable cause) {
      try {
        VirtualChildChannel ch = (VirtualChildChannel) channel();
        if (cause instanceof ChannelResetException) {
          log.debug("{} {}", ch, cause.getMessage());
        } else if (ch.isOpen()) {
          log.warn("{} the channel's handler failed; resetting the channel", ch, cause);
          ch.mux.resetChannel(ch, org.q2q.client.Q2qErrorCode.INTERNAL_ERROR, "the application handling the channel failed");
        }
      } finally {
        ReferenceCountUtil.release(cause);
      }
    }

    @Override
    protected void onUnhandledInboundMessage(ChannelHandlerContext ctx, Object msg) {
      try {
        log.debug("{} discarded an inbound message nobody handled: {}", channel(), msg);
      } finally {
        ReferenceCountUtil.release(msg);
      }
    }
  }
}
