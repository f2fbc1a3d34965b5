package org.q2q.ptcp.netty;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.FixedRecvByteBufAllocator;
import io.netty.channel.MaxMessagesRecvByteBufAllocator;
import io.netty.channel.RecvByteBufAllocator;
import io.netty.util.UncheckedBooleanSupplier;

/**
 * Receive buffers of the epoll datagram channel: each read is one recvmmsg into {@code slots} slots
 * of {@code slotSize} bytes (Netty's MAX_DATAGRAM_PAYLOAD_SIZE must equal {@code slotSize}). With
 * UDP GRO a slot may hold a whole coalesced batch, which Netty splits into one packet per datagram,
 * each a retained slice of the read buffer.
 *
 * <p>Also returns a buffer reference Netty 4.2.18 loses: when a recvmmsg returns exactly one message
 * and it is a GRO batch, its single-packet fast path slices the buffer, then falls through to the
 * batch path and slices it again; the first slice is never released, so the whole read buffer would
 * never go back to the pool (netty/netty#17493, fixed after 4.2.18). The handle sees that case (one
 * slot read, several packets) before the packets reach the pipeline, and releases the extra reference
 * only if the buffer holds exactly one more than those packets, so a fixed Netty is left alone.
 *
 * <p>Counters are read on the channel's event loop.
 */
final class DatagramReadAllocator implements MaxMessagesRecvByteBufAllocator {
  private final int slotSize;
  private final FixedRecvByteBufAllocator fixed;
  /** Messages the kernel returned (a GRO batch counts once). */
  private long messages;
  /** References returned for netty#17493. */
  private long leaksFixed;

  DatagramReadAllocator(int slotSize, int slots) {
    this.slotSize = slotSize;
    this.fixed = new FixedRecvByteBufAllocator(slotSize * slots);
  }

  long messages() {
    return messages;
  }

  long leaksFixed() {
    return leaksFixed;
  }

  @Override
  public Handle newHandle() {
    return new ReadHandle((ExtendedHandle) fixed.newHandle());
  }

  @Override
  public int maxMessagesPerRead() {
    return fixed.maxMessagesPerRead();
  }

  @Override
  public MaxMessagesRecvByteBufAllocator maxMessagesPerRead(int n) {
    fixed.maxMessagesPerRead(n);
    return this;
  }

  /** Tracks the buffer of the current read and what Netty reports about it. */
  private final class ReadHandle extends RecvByteBufAllocator.DelegatingHandle implements ExtendedHandle {
    private final ExtendedHandle delegate;
    /** The buffer of the current read, until its packets are counted. */
    private ByteBuf buffer;
    private int lastBytes;

    ReadHandle(ExtendedHandle delegate) {
      super(delegate);
      this.delegate = delegate;
    }

    @Override
    public ByteBuf allocate(ByteBufAllocator alloc) {
      buffer = super.allocate(alloc);
      return buffer;
    }

    @Override
    public void lastBytesRead(int bytes) {
      lastBytes = bytes;
      super.lastBytesRead(bytes);
    }

    /** Netty reports a read's packets here, after lastBytesRead (slots used x slot size), before firing them. */
    @Override
    public void incMessagesRead(int packets) {
      super.incMessagesRead(packets);
      if (lastBytes <= 0) {
        return;
      }
      int slotsRead = Math.max(1, lastBytes / slotSize);
      messages += slotsRead;
      ByteBuf b = buffer;
      buffer = null;
      if (slotsRead == 1 && packets > 1 && b != null && b.refCnt() == packets + 1) {
        b.release();
        leaksFixed++;
      }
    }

    @Override
    public boolean continueReading(UncheckedBooleanSupplier maybeMoreDataSupplier) {
      return delegate.continueReading(maybeMoreDataSupplier);
    }
  }
}
