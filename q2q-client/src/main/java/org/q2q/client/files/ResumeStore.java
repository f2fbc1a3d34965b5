package org.q2q.client.files;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.Objects;
import java.util.Properties;
import java.util.regex.Pattern;
import org.q2q.certstore.Address;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The receiver's resume state, in {@code DIR/}{@value SafeFileNames#STATE_FOLDER}: for each file
 * of each sender, keyed by (sender, path, size), the verified prefix ({@code KEY.part}), its chunk
 * hashes ({@code KEY.sums}) and what it is ({@code KEY.meta}). Names are ASCII hex, whatever the
 * file is called, so no locale or length limit can break them. A prefix is never a file that looks
 * complete: it lives only here, under a {@code .part} name, until it is whole and verified.
 *
 * <p>A file stored whole by a transfer that was then interrupted keeps its meta (with the final
 * name, size, modification time and file key) and sums, so that sending the same files again skips
 * it; the receiver drops that record once the whole transfer has completed. Anything older than
 * {@link #MAX_AGE} is swept at start.
 */
final class ResumeStore {
  private static final Logger log = LoggerFactory.getLogger(ResumeStore.class);
  /** Resume state unused for this long is deleted. */
  static final Duration MAX_AGE = Duration.ofDays(7);
  private static final Pattern OLD_PARTIAL = Pattern.compile("^\\..*\\.q2q-partial-[0-9a-f]{16}$");

  private final Path dir;
  private final Path state;

  ResumeStore(Path dir) {
    this.dir = dir;
    this.state = dir.resolve(SafeFileNames.STATE_FOLDER);
  }

  /** Deletes resume state not touched for {@link #MAX_AGE} and partial files of the old format. */
  void sweep(Instant now) {
    Instant cutoff = now.minus(MAX_AGE);
    int n = 0;
    if (Files.isDirectory(state, LinkOption.NOFOLLOW_LINKS)) {
      try (DirectoryStream<Path> s = Files.newDirectoryStream(state)) {
        for (Path p : s) {
          if (Files.getLastModifiedTime(p, LinkOption.NOFOLLOW_LINKS).toInstant().isBefore(cutoff)) {
            Files.deleteIfExists(p);
            n++;
          }
        }
      } catch (IOException e) {
        log.warn("cannot sweep resume state in {}: {}", state, e.toString());
      }
    }
    try (DirectoryStream<Path> s = Files.newDirectoryStream(dir, p -> OLD_PARTIAL.matcher(p.getFileName().toString()).matches())) {
      for (Path p : s) {
        Files.deleteIfExists(p);
        n++;
      }
    } catch (IOException e) {
      log.warn("cannot sweep old partial files in {}: {}", dir, e.toString());
    }
    if (n > 0) {
      log.info("swept {} stale resume files from {}", n, dir);
    }
  }

  /** The key of a file: who sends it, its path and its size (a file whose size changed starts over). */
  static String key(Address from, String path, long size) {
    MessageDigest d = FileTransfer.sha256();
    d.update((from + "\n" + path + "\n" + size + "\n" + FileTransfer.CHUNK_BYTES).getBytes(StandardCharsets.UTF_8));
    return FileTransfer.hex(d.digest()).substring(0, 32);
  }

  /** Loads (and checks) what is held for {@code entry} from {@code from}; a fresh state if nothing usable. */
  Partial load(Address from, Offer.Entry entry) {
    Partial p = new Partial(key(from, entry.path(), entry.size()), from, entry);
    try {
      p.load();
    } catch (IOException | RuntimeException e) {
      log.warn("resume state {} for {} unusable, starting over: {}", p.key, RemoteText.printable(entry.path()), e.toString());
      p.discard();
    }
    return p;
  }

  /** The resume state of one file. Not thread-safe: one transfer uses it at a time. */
  final class Partial {
    final String key;
    private final Address from;
    private final Offer.Entry entry;
    private final Path part;
    private final Path sums;
    private final Path meta;
    /** Hashes of the verified chunks, in order: the first {@code appended} bytes. */
    private byte[] verifiedSums = new byte[0];
    private int appended;
    /** The final file, if it was stored whole before. */
    private Path storedAs;
    private FileChannel partChannel;
    private OutputStream sumsOut;

    Partial(String key, Address from, Offer.Entry entry) {
      this.key = key;
      this.from = from;
      this.entry = entry;
      this.part = state.resolve(key + ".part");
      this.sums = state.resolve(key + ".sums");
      this.meta = state.resolve(key + ".meta");
    }

    /** The file this state is for. */
    Offer.Entry entry() {
      return entry;
    }

    /** Chunks held and verified. */
    int verifiedChunks() {
      return appended / FileTransfer.DIGEST_BYTES;
    }

    /** Their hashes. */
    byte[] verifiedSums() {
      return verifiedSums.length == appended ? verifiedSums : Arrays.copyOf(verifiedSums, appended);
    }

    /** Bytes held and verified. */
    long verifiedBytes() {
      return Math.min(entry.size(), (long) verifiedChunks() * FileTransfer.CHUNK_BYTES);
    }

    /** The final file if it was stored whole by an earlier, interrupted transfer, else null. */
    Path storedAs() {
      return storedAs;
    }

    /** True if there is anything to offer for resume. */
    boolean resumable() {
      return storedAs != null || verifiedChunks() > 0;
    }

    private void load() throws IOException {
      if (!Files.isRegularFile(meta, LinkOption.NOFOLLOW_LINKS)) {
        return;
      }
      Properties m = new Properties();
      try (InputStream in = Files.newInputStream(meta)) {
        m.load(in);
      }
      if (!from.toString().equals(m.getProperty("from")) || !entry.path().equals(m.getProperty("path"))
          || !String.valueOf(entry.size()).equals(m.getProperty("size"))) {
        throw new IOException("meta does not match the offer");
      }
      byte[] all = Files.isRegularFile(sums, LinkOption.NOFOLLOW_LINKS) ? Files.readAllBytes(sums) : new byte[0];
      int chunks = entry.chunks();
      String stored = m.getProperty("stored");
      if (stored != null) {
        Path f = SafeFileNames.resolve(dir, stored);
        BasicFileAttributes a = Files.readAttributes(f, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        if (!a.isRegularFile() || a.size() != entry.size()
            || !String.valueOf(a.lastModifiedTime().toMillis()).equals(m.getProperty("mtime"))
            || !String.valueOf(a.fileKey()).equals(m.getProperty("fileKey"))
            || all.length != chunks * FileTransfer.DIGEST_BYTES) {
          throw new IOException("the stored file " + stored + " changed since");
        }
        storedAs = f;
        verifiedSums = all;
        appended = all.length;
        return;
      }
      verifiedSums = verifyPrefix(all, chunks);
      appended = verifiedSums.length;
    }

    /** The hashes of the leading chunks of the part file that match {@code all} (a crash may have left either longer). */
    private byte[] verifyPrefix(byte[] all, int chunks) throws IOException {
      if (!Files.isRegularFile(part, LinkOption.NOFOLLOW_LINKS)) {
        return new byte[0];
      }
      int held = Math.min(all.length / FileTransfer.DIGEST_BYTES, chunks);
      MessageDigest d = FileTransfer.sha256();
      ByteBuffer buf = ByteBuffer.allocate(FileTransfer.CHUNK_BYTES);
      int ok = 0;
      try (FileChannel c = FileChannel.open(part, StandardOpenOption.READ)) {
        for (; ok < held; ok++) {
          int len = FileTransfer.chunkLength(entry.size(), ok);
          buf.clear().limit(len);
          while (buf.hasRemaining() && c.read(buf) >= 0) {
            // fill
          }
          if (buf.hasRemaining()) {
            break; // the part file is shorter than its sums say
          }
          d.update(buf.array(), 0, len);
          byte[] h = d.digest();
          if (!Arrays.equals(h, 0, h.length, all, ok * FileTransfer.DIGEST_BYTES, (ok + 1) * FileTransfer.DIGEST_BYTES)) {
            break;
          }
        }
      }
      return Arrays.copyOf(all, ok * FileTransfer.DIGEST_BYTES);
    }

    /**
     * Prepares to append chunk {@code from} on: keeps the first {@code from} verified chunks,
     * creating the state if there is none.
     */
    void beginAt(int fromChunk) throws IOException {
      if (fromChunk > verifiedChunks()) {
        throw new IllegalArgumentException("chunk " + fromChunk + " beyond the " + verifiedChunks() + " held");
      }
      if (storedAs != null) {
        discard(); // the sender's file differs from what we stored: start over, under a new name
        storedAs = null;
      }
      Files.createDirectories(state);
      verifiedSums = Arrays.copyOf(verifiedSums, fromChunk * FileTransfer.DIGEST_BYTES);
      appended = verifiedSums.length;
      if (fromChunk == 0 || !Files.exists(meta)) {
        Properties m = new Properties();
        m.setProperty("from", from.toString());
        m.setProperty("path", entry.path());
        m.setProperty("size", String.valueOf(entry.size()));
        writeMeta(m);
      }
      partChannel = FileChannel.open(part, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
      long keep = Math.min(entry.size(), (long) fromChunk * FileTransfer.CHUNK_BYTES);
      partChannel.truncate(keep);
      partChannel.position(keep);
      Files.write(sums, verifiedSums);
      sumsOut = Files.newOutputStream(sums, StandardOpenOption.APPEND);
    }

    /** Appends a verified chunk (its bytes, then its hash: a crash leaves the sums no longer than the data). */
    void append(ByteBuffer chunk, byte[] hash) throws IOException {
      while (chunk.hasRemaining()) {
        partChannel.write(chunk);
      }
      sumsOut.write(hash);
      int n = verifiedSums.length;
      if (appended == n) {
        verifiedSums = Arrays.copyOf(verifiedSums, Math.max(4 * FileTransfer.DIGEST_BYTES, n * 2)); // amortized growth
      }
      System.arraycopy(hash, 0, verifiedSums, appended, hash.length);
      appended += hash.length;
    }

    /** Forces the data to disk and closes; the part file is ready to be placed. */
    Path finishData() throws IOException {
      partChannel.force(true);
      partChannel.close();
      partChannel = null;
      sumsOut.close();
      sumsOut = null;
      return part;
    }

    /** Records that the file is stored whole as {@code target} (for a resend after an interruption). */
    void markStored(Path target) throws IOException {
      BasicFileAttributes a = Files.readAttributes(target, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
      Properties m = new Properties();
      m.setProperty("from", from.toString());
      m.setProperty("path", entry.path());
      m.setProperty("size", String.valueOf(entry.size()));
      m.setProperty("stored", dir.relativize(target).toString().replace(target.getFileSystem().getSeparator(), "/"));
      m.setProperty("mtime", String.valueOf(a.lastModifiedTime().toMillis()));
      m.setProperty("fileKey", String.valueOf(a.fileKey()));
      writeMeta(m);
      Files.deleteIfExists(part);
      storedAs = target;
    }

    private void writeMeta(Properties m) throws IOException {
      Path tmp = state.resolve(key + ".meta-new");
      try (OutputStream out = Files.newOutputStream(tmp)) {
        m.store(out, "q2q resume state (ASCII; safe to delete)");
      }
      Files.move(tmp, meta, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    /** Closes open files, keeping the state (an interruption: the next transfer resumes from it). */
    void closeQuietly() {
      try {
        if (partChannel != null) {
          partChannel.close();
        }
        if (sumsOut != null) {
          sumsOut.close();
        }
      } catch (IOException e) {
        log.debug("closing resume state {}: {}", key, e.toString());
      }
      partChannel = null;
      sumsOut = null;
    }

    /** Deletes this file's state. */
    void discard() {
      closeQuietly();
      for (Path p : new Path[] {part, sums, meta}) {
        try {
          Files.deleteIfExists(p);
        } catch (IOException e) {
          log.warn("cannot delete resume state {}: {}", p, e.toString());
        }
      }
      verifiedSums = new byte[0];
      appended = 0;
    }

    @Override
    public String toString() {
      return key + " " + Objects.toString(entry.path());
    }
  }
}
