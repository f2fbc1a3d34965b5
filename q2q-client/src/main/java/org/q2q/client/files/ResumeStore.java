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
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Map;
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
 * <p>Files of one chunk or less keep no meta or sums while they arrive (they cannot be resumed
 * part way, and a folder of 10,000 small files must not cost 30,000 extra files). A file stored
 * whole is recorded in the sender's journal ({@code SENDERKEY.stored}: one line per file with its
 * final name, size, modification time, file key and chunk hashes), so that sending the same files
 * again after an interruption skips it; the receiver drops the journal once a transfer from that
 * sender has completed. Anything older than {@link #MAX_AGE} is swept at start.
 */
final class ResumeStore {
  private static final Logger log = LoggerFactory.getLogger(ResumeStore.class);
  /** Resume state unused for this long is deleted. */
  static final Duration MAX_AGE = Duration.ofDays(7);
  private static final Pattern OLD_PARTIAL = Pattern.compile("^\\..*\\.q2q-partial-[0-9a-f]{16}$");

  private final Path dir;
  private final Path state;

  private void createStateFolder() throws IOException {
    Files.createDirectories(state); // every time: someone may have removed it since
  }

  /** The journal of files stored for {@code from}. */
  Journal journal(Address from) {
    return new Journal(from);
  }

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

  /** A stored file as the journal recorded it. */
  record Stored(String path, long size, String mtime, String fileKey, byte[] sums) {}

  /**
   * The files stored whole for one sender by transfers that did not complete: appended to as files
   * are stored (not forced: losing it costs a resend, not data), read when the sender offers again.
   */
  final class Journal implements AutoCloseable {
    private final Path file;
    private final Map<String, Stored> stored = new HashMap<>();
    private OutputStream out;

    Journal(Address from) {
      this.file = state.resolve(key(from, "", -1) + ".stored");
      if (!Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) {
        return;
      }
      try {
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
          String[] f = line.split(" ", 6); // size mtime fileKey sums-hex|- path... (path last: it may hold spaces)
          if (f.length == 6 && f[0].equals("stored")) {
            byte[] sums = f[4].equals("-") ? new byte[0] : HexFormat.of().parseHex(f[4]);
            stored.put(f[5], new Stored(f[5], Long.parseLong(f[1]), f[2], f[3], sums));
          }
        }
      } catch (IOException | RuntimeException e) {
        log.warn("resume journal {} unreadable, ignored: {}", file, e.toString());
        stored.clear();
      }
    }

    Stored get(String path) {
      return stored.get(path);
    }

    /** Records that {@code path} is stored whole as {@code target} (relative to DIR). */
    void append(Offer.Entry e, String target, BasicFileAttributes a, byte[] sums) throws IOException {
      if (out == null) {
        Files.createDirectories(state);
        out = new java.io.BufferedOutputStream(Files.newOutputStream(file, StandardOpenOption.CREATE, StandardOpenOption.APPEND));
      }
      // the sums are inline for one-chunk files; larger files keep them in their .sums file
      String inline = e.chunks() == 1 ? FileTransfer.hex(sums) : "-";
      out.write(("stored " + e.size() + " " + a.lastModifiedTime().toMillis() + " " + String.valueOf(a.fileKey()).replace(' ', '_')
          + " " + inline + " " + target + "\n").getBytes(StandardCharsets.UTF_8));
      out.flush();
      stored.put(e.path(), null); // not offered again within this transfer
      records.put(e.path(), target);
    }

    private final Map<String, String> records = new HashMap<>();

    /** The transfer completed: nothing to resume from this sender any more. */
    void discard() {
      close();
      try {
        Files.deleteIfExists(file);
      } catch (IOException e) {
        log.warn("cannot delete resume journal {}: {}", file, e.toString());
      }
    }

    @Override
    public void close() {
      if (out != null) {
        try {
          out.close();
        } catch (IOException e) {
          log.debug("closing {}: {}", file, e.toString());
        }
        out = null;
      }
    }
  }

  /** Loads (and checks) what is held for {@code entry} from {@code from}; a fresh state if nothing usable. */
  Partial load(Address from, Offer.Entry entry, Journal journal) {
    Partial p = new Partial(key(from, entry.path(), entry.size()), from, entry, journal);
    try {
      p.load(journal.get(entry.path()));
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
    private FileAppender partFile;
    private OutputStream sumsOut;
    private final Journal journal;

    Partial(String key, Address from, Offer.Entry entry, Journal journal) {
      this.key = key;
      this.from = from;
      this.entry = entry;
      this.journal = journal;
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

    private void load(Stored record) throws IOException {
      int chunks = entry.chunks();
      if (record != null) {
        byte[] all = chunks > 1 && Files.isRegularFile(sums, LinkOption.NOFOLLOW_LINKS) ? Files.readAllBytes(sums) : record.sums();
        Path f = SafeFileNames.resolve(dir, record.path());
        BasicFileAttributes a = Files.readAttributes(f, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        if (!a.isRegularFile() || a.size() != entry.size() || record.size() != entry.size()
            || !String.valueOf(a.lastModifiedTime().toMillis()).equals(record.mtime())
            || !String.valueOf(a.fileKey()).replace(' ', '_').equals(record.fileKey())
            || all.length != chunks * FileTransfer.DIGEST_BYTES) {
          throw new IOException("the stored file " + record.path() + " changed since");
        }
        storedAs = f;
        verifiedSums = all;
        appended = all.length;
        return;
      }
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
     *
     * @param aligned lent for the writes of this file (see {@link FileAppender#open}); null to
     *     write through the page cache
     */
    void beginAt(int fromChunk, ByteBuffer aligned) throws IOException {
      if (fromChunk > verifiedChunks()) {
        throw new IllegalArgumentException("chunk " + fromChunk + " beyond the " + verifiedChunks() + " held");
      }
      if (storedAs != null) {
        discard(); // the sender's file differs from what we stored: start over, under a new name
        storedAs = null;
      }
      createStateFolder();
      verifiedSums = Arrays.copyOf(verifiedSums, fromChunk * FileTransfer.DIGEST_BYTES);
      appended = verifiedSums.length;
      if (resumableInPart()) {
        if (fromChunk == 0 || !Files.exists(meta)) {
          Properties m = new Properties();
          m.setProperty("from", from.toString());
          m.setProperty("path", entry.path());
          m.setProperty("size", String.valueOf(entry.size()));
          writeMeta(m);
        }
        Files.write(sums, verifiedSums);
        sumsOut = Files.newOutputStream(sums, StandardOpenOption.APPEND);
      }
      long keep = Math.min(entry.size(), (long) fromChunk * FileTransfer.CHUNK_BYTES);
      partFile = FileAppender.open(part, keep, entry.size(), aligned);
    }

    /** Only files of more than one chunk can be resumed part way; smaller ones keep no meta or sums. */
    private boolean resumableInPart() {
      return entry.chunks() > 1;
    }

    /** Appends a verified chunk (its bytes, then its hash: a crash leaves the sums no longer than the data). */
    void append(byte[] chunk, int len, byte[] hash) throws IOException {
      partFile.append(chunk, 0, len);
      if (sumsOut != null) {
        sumsOut.write(hash);
      }
      int n = verifiedSums.length;
      if (appended == n) {
        verifiedSums = Arrays.copyOf(verifiedSums, Math.max(4 * FileTransfer.DIGEST_BYTES, n * 2)); // amortized growth
      }
      System.arraycopy(hash, 0, verifiedSums, appended, hash.length);
      appended += hash.length;
    }

    /** All data is in: closes the sums; the part file stays open until {@link #forceAndClose}. */
    Path finishData() throws IOException {
      if (sumsOut != null) {
        sumsOut.close();
        sumsOut = null;
      }
      return part;
    }

    /** Forces the data to disk and closes it: the part file is ready to be placed. */
    void forceAndClose() throws IOException {
      partFile.force();
      partFile.close();
      partFile = null;
    }

    /** Records that the file is stored whole as {@code target} (for a resend after an interruption). */
    void markStored(Path target) throws IOException {
      BasicFileAttributes a = Files.readAttributes(target, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
      journal.append(entry, dir.relativize(target).toString().replace(target.getFileSystem().getSeparator(), "/"), a,
          verifiedSums());
      if (resumableInPart()) {
        Files.deleteIfExists(meta); // the sums stay: the journal's record points at them
      }
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
        if (partFile != null) {
          partFile.close();
        }
        if (sumsOut != null) {
          sumsOut.close();
        }
      } catch (IOException e) {
        log.debug("closing resume state {}: {}", key, e.toString());
      }
      partFile = null;
      sumsOut = null;
    }

    /** Deletes this file's state. */
    void discard() {
      closeQuietly();
      for (Path p : resumableInPart() ? new Path[] {part, sums, meta} : new Path[] {part}) {
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
