package org.q2q.client.files;

import com.sun.nio.file.ExtendedOpenOption;
import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Appends a received file's verified chunks to its part file. A file of a chunk or more is written
 * past the page cache (O_DIRECT) where the file system allows it: the receiver forces every file to
 * disk before acknowledging it, so each byte goes to the disk anyway, and writing it there directly
 * saves copying it into the page cache and writing it back at the force. Measured on the bench VM,
 * that copy was 2.4 s of the receiver's 3.5 s of CPU per GiB (apparently first touches of page-cache
 * memory the VM had handed back to its host), and the force another 0.3 s at the end of the
 * transfer; 1 GiB direct sends went from 196 to 257 MB/s (bench/results.md). Elsewhere (small files,
 * file systems or platforms that refuse O_DIRECT) it writes normally. Not thread-safe.
 *
 * <p>Buffer ownership: the aligned buffer is lent by the caller for this appender's life and
 * reused for every chunk; the bytes passed to {@link #append} are copied before it returns.
 */
final class FileAppender implements Closeable {
  private static final Logger log = LoggerFactory.getLogger(FileAppender.class);
  /** O_DIRECT needs the memory, the file offset and the length aligned to the logical block. */
  static final int ALIGN = 4096;
  /**
   * Bytes per write(2) on the page-cache path. Why not the whole 1 MiB chunk: measured on the bench
   * machine, a 1 GiB file written in 1 MiB calls cost the receiver twice the kernel CPU of 128 KiB
   * calls (the JDK's bounce buffer and the page-cache copy then no longer stay in the CPU cache).
   */
  static final int WRITE_SLICE = 128 * 1024;

  private final Path file;
  private FileChannel channel;
  /** Null on the page-cache path. */
  private ByteBuffer aligned;
  /** Where the next append goes (kept here: positional writes, no seek per chunk). */
  private long position;

  private FileAppender(Path file, FileChannel channel, ByteBuffer aligned, long position) {
    this.file = file;
    this.channel = channel;
    this.aligned = aligned;
    this.position = position;
  }

  /** A direct buffer for {@link #open}: {@code capacity} bytes aligned for O_DIRECT. */
  static ByteBuffer alignedBuffer(int capacity) {
    return ByteBuffer.allocateDirect(capacity + ALIGN).alignedSlice(ALIGN).limit(capacity).slice();
  }

  /**
   * Opens {@code file} (creating it) to append from {@code keep} on, dropping anything after it.
   *
   * @param size the whole file's size: small files take the page-cache path
   * @param aligned from {@link #alignedBuffer}, at least one chunk; null for the page-cache path
   */
  static FileAppender open(Path file, long keep, long size, ByteBuffer aligned) throws IOException {
    FileChannel c = null;
    if (aligned != null && size >= FileTransfer.CHUNK_BYTES && keep % ALIGN == 0 && blockFits(file)) {
      try {
        c = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE, ExtendedOpenOption.DIRECT);
      } catch (IOException | UnsupportedOperationException e) {
        log.debug("{}: no direct writes here ({}), writing through the page cache", file, e.toString());
      }
    }
    boolean direct = c != null;
    if (c == null) {
      c = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
    }
    try {
      c.truncate(keep);
    } catch (IOException | RuntimeException e) {
      c.close();
      throw e;
    }
    return new FileAppender(file, c, direct ? aligned.clear() : null, keep);
  }

  /** True if the file system's block divides our alignment (O_DIRECT is refused otherwise). */
  private static boolean blockFits(Path file) {
    try {
      long block = Files.getFileStore(file.getParent()).getBlockSize();
      return block > 0 && ALIGN % block == 0;
    } catch (IOException | UnsupportedOperationException e) {
      return false;
    }
  }

  /** True if writes bypass the page cache. */
  boolean direct() {
    return aligned != null;
  }

  /**
   * Appends {@code len} bytes of {@code b}. On the direct path every append but a file's last must
   * be a multiple of {@link #ALIGN} (chunks are); the last is padded to the block and the file cut
   * back to its length.
   */
  void append(byte[] b, int off, int len) throws IOException {
    if (aligned == null) {
      ByteBuffer src = ByteBuffer.wrap(b, off, len);
      while (src.hasRemaining()) {
        src.limit(Math.min(off + len, src.position() + WRITE_SLICE));
        position += channel.write(src, position);
        src.limit(off + len);
      }
      return;
    }
    int padded = (len + ALIGN - 1) / ALIGN * ALIGN;
    if (padded > aligned.capacity()) {
      throw new IllegalArgumentException(len + " bytes do not fit the " + aligned.capacity() + "-byte buffer");
    }
    long at = position;
    aligned.clear().put(b, off, len);
    while (aligned.position() < padded) {
      aligned.put((byte) 0);
    }
    aligned.flip();
    try {
      while (aligned.hasRemaining()) {
        channel.write(aligned, at + aligned.position());
      }
    } catch (ClosedChannelException e) {
      throw e; // closed under us or interrupted: the transfer is being cancelled, not refused
    } catch (IOException e) {
      // Some file systems accept O_DIRECT at open and refuse the writes (EINVAL): go on through the
      // page cache from the same point. A real I/O error fails again there and is reported.
      log.debug("{}: direct write at {} failed ({}), writing through the page cache", file, at, e.toString());
      reopenBuffered(at);
      append(b, off, len);
      return;
    }
    if (padded != len) {
      channel.truncate(at + len); // the padding goes
    }
    position = at + len;
  }

  private void reopenBuffered(long at) throws IOException {
    channel.close();
    aligned = null;
    channel = FileChannel.open(file, StandardOpenOption.WRITE);
    channel.truncate(at);
    position = at;
  }

  /** Forces the data and its metadata to disk. */
  void force() throws IOException {
    channel.force(true);
  }

  @Override
  public void close() throws IOException {
    channel.close();
  }

  @Override
  public String toString() {
    return file + (direct() ? " (direct)" : "");
  }
}
