package org.q2q.client.files;

import io.netty.buffer.ByteBuf;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import org.q2q.client.VirtualChannel;
import org.q2q.client.internal.peer.ByteBufOutput;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sends a {@link FileSet} on a channel to a file receiver and waits until it has confirmed every
 * entry. Blocking; not for event-loop threads.
 *
 * <p>Files are read in {@value FileTransfer#CHUNK_BYTES}-byte blocks, each hashed and written as it
 * is read (one pass, no archive). Where the receiver holds verified chunks from an interrupted
 * transfer, the sender reads and hashes its own file's leading chunks, and skips those that match.
 * Acknowledgements are read on a second thread while data flows; a failure on the receiver's side
 * aborts the transfer at once with the receiver's reason.
 */
public final class FileSender {
  private static final Logger log = LoggerFactory.getLogger(FileSender.class);
  private static final int IO_BUFFER = 64 * 1024;
  /** Bytes per direct buffer handed to the channel: one full data frame. */
  private static final int DIRECT_PIECE = 64 * 1024;

  private final Clock clock;
  private final Duration idleTimeout;

  /** @param idleTimeout abort after this long without a byte moving either way */
  public FileSender(Clock clock, Duration idleTimeout) {
    this.clock = Objects.requireNonNull(clock, "clock");
    this.idleTimeout = Objects.requireNonNull(idleTimeout, "idleTimeout");
  }

  /**
   * What was sent, all of it confirmed stored and verified.
   *
   * @param skippedBytes bytes the receiver already held (resumed)
   * @param notes what the receiver said about entries (renames, resumed files), escaped for printing
   */
  public record Sent(int files, int folders, long bytes, long skippedBytes, Duration elapsed, List<String> notes) {}

  /**
   * Sends {@code files} on {@code channel}.
   *
   * @return once the receiver confirmed every entry
   * @throws FileTransferException if the receiver refused or failed the transfer (its reason), or
   *     the channel failed or stalled
   * @throws IOException if a local file cannot be read
   */
  public Sent send(VirtualChannel channel, FileSet files, TransferProgress progress) throws IOException {
    return send(Link.of(channel), files, progress);
  }

  Sent send(Link link, FileSet files, TransferProgress progress) throws IOException {
    long start = clock.millis();
    Offer offer = files.offer();
    IdleWatchdog watchdog = new IdleWatchdog(idleTimeout, System::nanoTime,
        () -> link.abort(IdleWatchdog.describe(idleTimeout)));
    DataInputStream in = new DataInputStream(new BufferedInputStream(Link.watched(link.input(), watchdog), IO_BUFFER));
    DataOutputStream out = new DataOutputStream(new BufferedOutputStream(Link.watched(link.output(), watchdog), IO_BUFFER));
    String peer = link.remote().toString();
    Acks acks = null;
    try {
      FileTransfer.writeOffer(out, offer);
      FileTransfer.Status verdict;
      try {
        verdict = FileTransfer.readStatus(in);
      } catch (EOFException e) {
        throw new FileTransferException(peer + " closed the channel without answering the offer", e);
      }
      if (!verdict.ok()) {
        throw new FileTransferException(peer + " refused the transfer: " + RemoteText.printable(verdict.message()), true);
      }
      byte[][] skippedSums = readResume(in, files);
      long skipped = 0;
      List<Integer> listed = new ArrayList<>();
      for (int i = 0; i < skippedSums.length; i++) {
        if (skippedSums[i] != null) {
          listed.add(i);
          skipped += Math.min(offer.entries().get(i).size(),
              (long) skippedSums[i].length / FileTransfer.DIGEST_BYTES * FileTransfer.CHUNK_BYTES);
        }
      }
      out.writeInt(listed.size());
      for (int i : listed) {
        out.writeInt(i);
        out.writeInt(skippedSums[i].length / FileTransfer.DIGEST_BYTES);
      }
      out.flush();
      progress.started(offer.totalBytes(), skipped);
      acks = new Acks(in, link, offer);
      acks.start();
      long done = skipped;
      ByteBufOutput direct = link.bufferOutput() == null ? null : Link.watched(link.bufferOutput(), watchdog);
      byte[] buf = direct != null ? null : new byte[FileTransfer.CHUNK_BYTES];
      MessageDigest chunkSha = FileTransfer.sha256();
      byte[] hash = new byte[FileTransfer.DIGEST_BYTES];
      for (int i = 0; i < offer.entries().size(); i++) {
        Offer.Entry e = offer.entries().get(i);
        if (e.kind() != Offer.Kind.FILE) {
          continue;
        }
        byte[] have = skippedSums[i] == null ? new byte[0] : skippedSums[i];
        int m = have.length / FileTransfer.DIGEST_BYTES;
        MessageDigest fileSha = FileTransfer.sha256();
        fileSha.update(have);
        int chunks = e.chunks();
        if (m < chunks) {
          Path source = files.source(i);
          try (FileChannel fc = FileChannel.open(source, StandardOpenOption.READ)) {
            fc.position((long) m * FileTransfer.CHUNK_BYTES);
            for (int c = m; c < chunks; c++) {
              int len = FileTransfer.chunkLength(e.size(), c);
              if (direct != null) {
                out.flush(); // what the stream holds goes before the chunk
                sendChunk(fc, direct, chunkSha, len, source);
              } else {
                readChunk(fc, buf, len, source);
                chunkSha.update(buf, 0, len);
                out.write(buf, 0, len);
              }
              FileTransfer.digestInto(chunkSha, hash);
              out.write(hash);
              fileSha.update(hash);
              done += len;
              progress.update(done, offer.totalBytes());
            }
          }
        }
        out.write(fileSha.digest());
      }
      out.flush();
      link.endOutput();
      acks.await();
      if (acks.failure != null) {
        throw acks.failure;
      }
      link.lingerAndClose(Duration.ZERO);
      log.debug("{}: sent {} to {}", link.id(), offer.describe(), peer);
      return new Sent(offer.count(Offer.Kind.FILE), offer.count(Offer.Kind.FOLDER), offer.totalBytes(), skipped,
          Duration.ofMillis(clock.millis() - start), List.copyOf(acks.notes));
    } catch (LocalReadError e) {
      link.abort("the sender could not read a file");
      throw e.getCause();
    } catch (FileTransferException e) {
      link.abort("transfer failed");
      throw e;
    } catch (IOException e) {
      link.abort("transfer failed");
      if (acks != null) {
        acks.await(); // the receiver's reason, if it gave one, explains the broken channel best
        if (acks.failure != null) {
          throw acks.failure;
        }
      }
      if (watchdog.fired()) {
        throw new FileTransferException(IdleWatchdog.describe(idleTimeout) + ": transfer to "
            + peer + " abandoned", e);
      }
      throw new FileTransferException("sending to " + peer + " failed: " + RemoteText.printable(String.valueOf(e.getMessage())), e);
    } finally {
      watchdog.close();
    }
  }

  /**
   * Reads what the receiver holds and checks it against our files: per file, the hashes of the
   * leading chunks that match (all or none for a file the receiver stored whole), else null.
   */
  private static byte[][] readResume(DataInputStream in, FileSet files) throws IOException {
    List<Offer.Entry> entries = files.entries();
    byte[][] matched = new byte[entries.size()][];
    int n = in.readInt();
    if (n < 0 || n > entries.size()) {
      throw new FileTransfer.ProtocolError("bad resume count " + n);
    }
    int last = -1;
    byte[] theirs = new byte[FileTransfer.DIGEST_BYTES];
    byte[] ours = new byte[FileTransfer.DIGEST_BYTES];
    byte[] buf = null;
    MessageDigest sha = FileTransfer.sha256();
    for (int j = 0; j < n; j++) {
      int i = in.readInt();
      boolean complete = (in.readUnsignedByte() & FileTransfer.FLAG_COMPLETE) != 0;
      int k = in.readInt();
      if (i <= last || i >= entries.size() || entries.get(i).kind() != Offer.Kind.FILE || k < 0
          || k > entries.get(i).chunks() || (complete && k != entries.get(i).chunks())) {
        throw new FileTransfer.ProtocolError("bad resume entry " + i + " (" + k + " chunks)");
      }
      last = i;
      Offer.Entry e = entries.get(i);
      byte[] sums = new byte[k * FileTransfer.DIGEST_BYTES];
      int m = 0;
      if (buf == null && k > 0) {
        buf = new byte[FileTransfer.CHUNK_BYTES];
      }
      Path source = files.source(i);
      FileChannel fc = null;
      boolean comparing = k > 0;
      try {
        for (int c = 0; c < k; c++) {
          FileTransfer.readFully(in, theirs, "resume hashes");
          if (comparing && m == c) {
            int len = FileTransfer.chunkLength(e.size(), c);
            try {
              if (fc == null) {
                fc = FileChannel.open(source, StandardOpenOption.READ);
              }
              readChunk(fc, buf, len, source);
            } catch (IOException unreadable) {
              comparing = false; // changed or gone: send what is there, whole (the data phase reports a read error)
              m = 0;
              continue;
            }
            sha.update(buf, 0, len);
            FileTransfer.digestInto(sha, ours);
            if (Arrays.equals(ours, theirs)) {
              System.arraycopy(ours, 0, sums, c * FileTransfer.DIGEST_BYTES, ours.length);
              m++;
            }
          }
        }
      } finally {
        if (fc != null) {
          fc.close();
        }
      }
      if (complete && m != k) {
        m = 0; // stored whole but different from ours: send ours again, whole
      }
      if (m > 0 || complete) {
        matched[i] = Arrays.copyOf(sums, m * FileTransfer.DIGEST_BYTES);
      }
    }
    return matched;
  }

  /**
   * Reads {@code len} bytes of {@code fc} straight into direct buffers, hashes them there, and
   * hands them to {@code out}: no copy through the Java heap.
   */
  private static void sendChunk(FileChannel fc, ByteBufOutput out, MessageDigest sha, int len, Path source)
      throws IOException {
    for (int left = len; left > 0; ) {
      int n = Math.min(left, DIRECT_PIECE);
      ByteBuf piece = out.alloc().directBuffer(n, n);
      try {
        while (piece.isWritable()) {
          if (piece.writeBytes(fc, piece.writableBytes()) < 0) {
            throw new LocalReadError(new IOException(source + " shrank while being sent"));
          }
        }
        sha.update(piece.nioBuffer());
      } catch (IOException e) {
        piece.release();
        throw e instanceof LocalReadError l ? l : new LocalReadError(new IOException("cannot read " + source + ": " + e.getMessage(), e));
      } catch (RuntimeException e) {
        piece.release();
        throw e;
      }
      out.write(piece); // passes the buffer on
      left -= n;
    }
  }

  private static void readChunk(FileChannel fc, byte[] buf, int len, Path source) throws LocalReadError {
    try {
      ByteBuffer b = ByteBuffer.wrap(buf, 0, len);
      while (b.hasRemaining()) {
        if (fc.read(b) < 0) {
          throw new IOException(source + " shrank while being sent");
        }
      }
    } catch (IOException e) {
      throw new LocalReadError(e.getMessage().startsWith(source.toString()) ? e
          : new IOException("cannot read " + source + ": " + e.getMessage(), e));
    }
  }

  /** Reading a local file failed: not the receiver's fault, reported as it is. */
  private static final class LocalReadError extends IOException {
    private static final long serialVersionUID = 1L;

    LocalReadError(IOException cause) {
      super(cause.getMessage(), cause);
    }

    @Override
    public synchronized IOException getCause() {
      return (IOException) super.getCause();
    }
  }

  /** Reads the receiver's acknowledgements while data flows. */
  private static final class Acks extends Thread {
    private final DataInputStream in;
    private final Link link;
    private final Offer offer;
    final List<String> notes = Collections.synchronizedList(new ArrayList<>());
    volatile FileTransferException failure;

    Acks(DataInputStream in, Link link, Offer offer) {
      super("q2q-file-acks-" + link.id().replace(' ', '-'));
      setDaemon(true);
      this.in = in;
      this.link = link;
      this.offer = offer;
    }

    @Override
    public void run() {
      String peer = link.remote().toString();
      try {
        for (int expected = 0; expected < offer.entries().size(); expected++) {
          FileTransfer.Status ack = FileTransfer.readAck(in);
          String message = RemoteText.printable(ack.message());
          if (!ack.ok() && ack.index() >= expected && ack.index() < offer.entries().size()) {
            // a failure may name a later entry: the receiver acknowledges in batches
            failure = new FileTransferException(peer + " did not store '"
                + RemoteText.printable(offer.entries().get(ack.index()).path()) + "': " + message, true);
            link.abort("the receiver failed");
            return;
          }
          if (ack.index() != expected || !ack.ok()) {
            throw new FileTransfer.ProtocolError("acknowledgement for entry " + ack.index() + ", expected " + expected);
          }
          if (!message.isEmpty()) {
            notes.add(message);
          }
        }
        if (in.read() >= 0) {
          throw new FileTransfer.ProtocolError("data after the last acknowledgement");
        }
      } catch (IOException e) {
        failure = new FileTransferException(e instanceof EOFException
            ? peer + " closed the channel before confirming every file"
            : "waiting for " + peer + " to confirm failed: " + RemoteText.printable(String.valueOf(e.getMessage())), e);
        link.abort("acknowledgements failed");
      }
    }

    void await() {
      try {
        join();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
