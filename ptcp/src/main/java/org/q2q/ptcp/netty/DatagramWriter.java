package org.q2q.ptcp.netty;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.epoll.EpollDatagramChannel;
import io.netty.channel.epoll.SegmentedDatagramPacket;
import io.netty.channel.socket.DatagramChannel;
import io.netty.channel.socket.DatagramPacket;
import io.netty.channel.unix.Errors;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Hands the datagrams the core writes ({@code pollTransmit}) to the UDP channel, a send batch at a
 * time. On epoll with UDP segmentation offload (Linux UDP_SEGMENT, "GSO"), consecutive datagrams of
 * one size to one destination leave as one {@link SegmentedDatagramPacket}: one kernel send, one
 * trip down the stack, cut into datagrams by the device or just before it (the last may be
 * shorter). Elsewhere (NIO, old kernels, or after a GSO send failed) each datagram is a plain
 * {@link DatagramPacket}.
 *
 * <p>Buffer ownership: the writer owns one direct <em>block</em> and a single {@link ByteBuffer} view
 * of it; the core writes datagram after datagram into the view (position and limit moved, nothing
 * allocated per datagram). Every packet written to the channel holds a retained slice of the block,
 * released by Netty once sent or failed; a GSO batch keeps one more reference until its write
 * completes, to resend it unsegmented if the kernel refuses the segmentation. The writer drops its own
 * block reference when the block is full and in {@link #close()}. Event-loop only.
 */
final class DatagramWriter {
  private static final Logger log = LoggerFactory.getLogger(DatagramWriter.class);
  /** Segments per GSO send: the kernel's UDP_MAX_SEGMENTS (64; newer kernels allow 128). */
  static final int GSO_MAX_SEGMENTS = 64;
  /**
   * Bytes per GSO send: the segments travel as one IP packet until they are cut, so their sum is bound
   * by the largest IPv4 UDP payload.
   */
  static final int GSO_MAX_BYTES = 65_507;
  /** Block capacity: a few GSO batches of 1452-byte datagrams, or several of the largest. */
  static final int BLOCK_SIZE = 256 << 10;
  // Linux errno values for which a segmented send fails where single datagrams would not.
  private static final int EIO = 5;
  private static final int EINVAL = 22;
  private static final int EMSGSIZE = 90;
  private static final int ENOPROTOOPT = 92;
  private static final int EOPNOTSUPP = 95;

  private final DatagramChannel udp;
  private final ByteBufAllocator alloc;
  private final String name;
  /** Whether batches leave segmented; cleared for good by a refusal (read by stats on any thread). */
  private volatile boolean gso;
  /** Segment cap of a batch: {@link #GSO_MAX_SEGMENTS}; tests raise it to provoke a kernel refusal. */
  private int maxSegments = GSO_MAX_SEGMENTS;

  /** The current block (null before the first datagram and after close) and its view. */
  private ByteBuf block;
  private ByteBuffer view;
  /** Block offset where the next datagram goes. */
  private int pos;

  /** The open batch: {@code segments} datagrams at {@code [batchStart, pos)}, all but the last {@code segmentSize} long. */
  private InetSocketAddress batchDest;
  private int batchStart;
  private int segmentSize;
  private int segments;
  /** Whether the last datagram was shorter than the segment size (no datagram may follow it). */
  private boolean batchClosed;

  /** Counters for {@code PtcpSocket.stats()}. */
  private long datagrams;
  private long gsoBatches;
  private long gsoSegments;
  private long gsoFailures;

  DatagramWriter(DatagramChannel udp, String name) {
    this.udp = udp;
    this.alloc = udp.alloc();
    this.name = name;
    this.gso = PtcpSocket.GSO_ALLOWED && udp instanceof EpollDatagramChannel && SegmentedDatagramPacket.isSupported();
  }

  /**
   * A view of the block with at least {@code max} bytes between position and limit, for the core to
   * write the next datagram at its position. Follow with {@link #commit} if it wrote one.
   */
  ByteBuffer reserve(int max) {
    if (block == null || block.capacity() - pos < max) {
      newBlock(max);
    }
    view.limit(pos + max).position(pos);
    return view;
  }

  /** Takes the datagram the core just wrote into the {@link #reserve}d view, bound for {@code dest}. */
  void commit(InetSocketAddress dest) {
    int len = view.position() - pos;
    if (len <= 0) {
      return;
    }
    datagrams++;
    if (segments > 0 && fitsBatch(dest, len)) {
      segments++;
      batchClosed = len < segmentSize;
    } else {
      writeBatch();
      batchDest = dest;
      batchStart = pos;
      segmentSize = len;
      segments = 1;
      batchClosed = false;
    }
    pos += len;
    if (!gso) {
      writeBatch();
    }
  }

  /** Writes the open batch to the channel and flushes. */
  void flush() {
    writeBatch();
    udp.flush();
  }

  /** Drops the open batch and the writer's block reference (packets in flight keep theirs). */
  void close() {
    segments = 0;
    batchDest = null;
    if (block != null) {
      block.release();
      block = null;
      view = null;
    }
  }

  boolean gso() {
    return gso;
  }

  long datagrams() {
    return datagrams;
  }

  long gsoBatches() {
    return gsoBatches;
  }

  long gsoSegments() {
    return gsoSegments;
  }

  long gsoFailures() {
    return gsoFailures;
  }

  /** Test hook: lets a batch grow past the kernel's segment limit, so the kernel refuses it. */
  void maxSegments(int n) {
    maxSegments = n;
  }

  private boolean fitsBatch(InetSocketAddress dest, int len) {
    return gso && !batchClosed && len <= segmentSize && segments < maxSegments
        && pos - batchStart + len <= GSO_MAX_BYTES && (dest == batchDest || dest.equals(batchDest));
  }

  private void newBlock(int max) {
    writeBatch();
    if (block != null) {
      block.release();
    }
    int capacity = Math.max(BLOCK_SIZE, max);
    block = alloc.directBuffer(capacity, capacity);
    view = block.nioBuffer(0, capacity);
    pos = 0;
  }

  private void writeBatch() {
    if (segments == 0) {
      return;
    }
    int len = pos - batchStart;
    if (segments == 1 || !gso) { // !gso: refused while this batch was open
      for (int off = 0; off < len; off += segmentSize) {
        ByteBuf d = block.retainedSlice(batchStart + off, Math.min(segmentSize, len - off));
        udp.write(new DatagramPacket(d, batchDest), udp.voidPromise());
      }
    } else {
      ByteBuf content = block.retainedSlice(batchStart, len);
      gsoBatches++;
      gsoSegments += segments;
      content.retain(); // for a resend without segmentation, released by the listener
      udp.write(new SegmentedDatagramPacket(content, segmentSize, batchDest))
          .addListener(new SegmentedSend(content, len, segmentSize, batchDest));
    }
    segments = 0;
    batchDest = null;
  }

  /** Completion of a GSO send: on a segmentation error, resends its datagrams one by one. */
  private final class SegmentedSend implements ChannelFutureListener {
    private final ByteBuf content;
    private final int length;
    private final int segmentSize;
    private final InetSocketAddress dest;

    SegmentedSend(ByteBuf content, int length, int segmentSize, InetSocketAddress dest) {
      this.content = content;
      this.length = length;
      this.segmentSize = segmentSize;
      this.dest = dest;
    }

    @Override
    public void operationComplete(ChannelFuture f) {
      try {
        if (!f.isSuccess() && isSegmentationError(f.cause())) {
          gsoFailures++;
          if (gso) {
            gso = false;
            log.info("{}: UDP segmentation offload refused ({}); sending datagrams one by one from now on",
                name, f.cause().toString());
          }
          if (udp.isOpen()) {
            for (int off = 0; off < length; off += segmentSize) {
              ByteBuf d = content.retainedSlice(off, Math.min(segmentSize, length - off));
              udp.write(new DatagramPacket(d, dest), udp.voidPromise());
            }
            udp.flush();
          }
        }
      } finally {
        content.release();
      }
    }
  }

  /**
   * Whether a failed GSO send failed for its segmentation (checksum offload missing: EIO; segment
   * count, size or path MTU: EINVAL, EMSGSIZE; no UDP_SEGMENT: ENOPROTOOPT, EOPNOTSUPP) rather than
   * for its destination, which plain datagrams would hit as well.
   */
  static boolean isSegmentationError(Throwable t) {
    if (t instanceof Errors.NativeIoException e) {
      int errno = -e.expectedErr();
      return errno == EIO || errno == EINVAL || errno == EMSGSIZE || errno == ENOPROTOOPT || errno == EOPNOTSUPP;
    }
    return t instanceof UnsupportedOperationException || t instanceof IllegalStateException;
  }
}
