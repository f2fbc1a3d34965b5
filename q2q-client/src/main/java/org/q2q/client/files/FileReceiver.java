package org.q2q.client.files;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.q2q.certstore.Address;
import org.q2q.client.VirtualChannel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Receives transfers into a folder. Blocking; not for event-loop threads. Safe for concurrent use
 * (one thread per transfer), up to {@link Options#maxConcurrent} transfers at once.
 *
 * <ul>
 *   <li>The offer is checked whole before any data: every path ({@link SafeFileNames#checkPath}),
 *       duplicates and file/folder clashes, and the free space (minus what running transfers have
 *       claimed and a reserve). A refusal tells the sender why.
 *   <li>Each chunk's SHA-256 is checked before it is written; a damaged chunk ends the transfer
 *       there and is never stored. Verified chunks go to resume state ({@link ResumeStore}), so a
 *       transfer interrupted for any reason resumes from them when the same files come again.
 *   <li>A finished file is checked whole, forced to disk, linked to its final name without
 *       replacing anything (or replacing with {@link Options#overwrite}), its folder synced, and
 *       only then acknowledged as stored.
 *   <li>A transfer without progress for {@link Options#idleTimeout} is aborted.
 * </ul>
 */
public final class FileReceiver {
  private static final Logger log = LoggerFactory.getLogger(FileReceiver.class);
  private static final Duration LINGER = Duration.ofSeconds(10);
  private static final int IO_BUFFER = 64 * 1024;
  /** Syncs files to disk for all receivers; a few at once let the file system share journal commits. */
  private static final java.util.concurrent.ExecutorService FSYNC = java.util.concurrent.Executors.newFixedThreadPool(8, r -> {
    Thread t = new Thread(r, "q2q-file-sync");
    t.setDaemon(true);
    return t;
  });
  /**
   * Aligned buffers of finished transfers for the next ones (at most one per running transfer):
   * direct memory is freed only by a GC, which a long-running receiver may seldom need.
   */
  private final Queue<ByteBuffer> alignedBuffers = new ConcurrentLinkedQueue<>();
  /** Files placed and acknowledged together (each holds a descriptor until then). */
  static final int MAX_BATCH_FILES = 64;
  /** Bytes placed and acknowledged together. */
  static final long MAX_BATCH_BYTES = 16L << 20;

  /**
   * How a receiver behaves.
   *
   * @param overwrite replace existing files instead of choosing a new name
   * @param allowHidden accept names starting with a dot
   * @param idleTimeout abort a transfer after this long without a byte moving
   * @param maxConcurrent transfers at once; more are refused as busy
   * @param diskReserve free space kept: an offer that would leave less is refused
   */
  public record Options(boolean overwrite, boolean allowHidden, Duration idleTimeout, int maxConcurrent, long diskReserve) {
    public Options {
      Objects.requireNonNull(idleTimeout, "idleTimeout");
      if (idleTimeout.isNegative() || idleTimeout.isZero() || maxConcurrent < 1 || diskReserve < 0) {
        throw new IllegalArgumentException("bad receiver options " + idleTimeout + " " + maxConcurrent + " " + diskReserve);
      }
    }

    /** No overwriting, no hidden files, 60 s idle timeout, 4 transfers at once, 64 MiB kept free. */
    public static Options defaults() {
      return new Options(false, false, Duration.ofSeconds(60), 4, 64L << 20);
    }

    public Options withOverwrite(boolean v) {
      return new Options(v, allowHidden, idleTimeout, maxConcurrent, diskReserve);
    }

    public Options withAllowHidden(boolean v) {
      return new Options(overwrite, v, idleTimeout, maxConcurrent, diskReserve);
    }

    public Options withIdleTimeout(Duration v) {
      return new Options(overwrite, allowHidden, v, maxConcurrent, diskReserve);
    }

    public Options withMaxConcurrent(int v) {
      return new Options(overwrite, allowHidden, idleTimeout, v, diskReserve);
    }
  }

  /**
   * A completed transfer.
   *
   * @param names the top-level names stored (first few)
   * @param notes what people should know: renames, resumed bytes, files the sender skipped
   */
  public record Received(Address from, int files, int folders, long bytes, long resumedBytes, Duration elapsed,
      List<String> names, List<String> notes) {}

  private final Path dir;
  private final Options options;
  private final Clock clock;
  private final ResumeStore store;
  /** Guarded by this. */
  private int running;
  /** Bytes claimed by running transfers. Guarded by this. */
  private long claimed;
  /** Resume keys of running transfers. Guarded by this. */
  private final Set<String> busyKeys = new HashSet<>();

  /** @param dir the folder files are stored in (must exist); stale resume state in it is swept */
  public FileReceiver(Path dir, Options options, Clock clock) {
    this.dir = dir.toAbsolutePath().normalize();
    this.options = Objects.requireNonNull(options, "options");
    this.clock = clock;
    this.store = new ResumeStore(this.dir);
    store.sweep(clock.instant());
  }

  /**
   * Receives one transfer from {@code channel}.
   *
   * @throws FileTransferException why it was not (wholly) stored; the sender was told when possible
   */
  public Received receive(VirtualChannel channel, TransferProgress progress) throws FileTransferException {
    return receive(Link.of(channel), progress);
  }

  Received receive(Link link, TransferProgress progress) throws FileTransferException {
    return new Transfer(link, progress).run();
  }

  /** One transfer's state; lives on the receiving thread. */
  private final class Transfer {
    private final Link link;
    private final TransferProgress progress;
    private final long start = clock.millis();
    private final IdleWatchdog watchdog;
    private final DataInputStream in;
    private final DataOutputStream out;
    private final List<String> notes = new ArrayList<>();
    private final Set<String> names = new LinkedHashSet<>();
    private Offer offer;
    private ResumeStore.Partial[] partials;
    private ResumeStore.Journal journal;
    /** The chunk buffer, allocated once the offer is accepted. */
    private byte[] buf;
    /**
     * Lent to each large file's writer in turn (see {@link FileAppender}); taken on first use, from
     * {@link #alignedBuffers} or new, and given back there when the transfer ends.
     */
    private ByteBuffer aligned;
    private final Set<String> keys = new HashSet<>();
    private long claim;
    private boolean admitted;
    private boolean accepted;
    private int current = -1;
    private long done;
    private long resumed;

    Transfer(Link link, TransferProgress progress) {
      this.link = link;
      this.progress = progress;
      this.watchdog = new IdleWatchdog(options.idleTimeout(), System::nanoTime,
          () -> link.abort(IdleWatchdog.describe(options.idleTimeout())));
      this.in = new DataInputStream(new BufferedInputStream(Link.watched(link.input(), watchdog), IO_BUFFER));
      this.out = new DataOutputStream(new BufferedOutputStream(Link.watched(link.output(), watchdog), IO_BUFFER));
    }

    Received run() throws FileTransferException {
      Address from = link.remote();
      try {
        offer = FileTransfer.readOffer(in);
        String why = admit();
        if (why != null) {
          FileTransfer.writeStatus(out, FileTransfer.REFUSED, why);
          try {
            finish();
          } catch (IOException e) {
            // the sender may hang up as soon as it has read the refusal: it was told
            log.debug("{}: the sender left after the refusal: {}", link.id(), e.toString());
          }
          throw new FileTransferException("refused an offer from " + from + ": " + why, false);
        }
        accept();
        readSkips();
        for (int i = 0; i < offer.entries().size(); i++) {
          current = i;
          Offer.Entry e = offer.entries().get(i);
          receiveEntry(i, e);
          if (batch.size() >= MAX_BATCH_FILES || batchBytes >= MAX_BATCH_BYTES || e.chunks() > 1) {
            flushBatch();
          }
        }
        flushBatch();
        current = -1;
        if (in.read() >= 0) {
          throw new FileTransfer.ProtocolError("data after the last file");
        }
        for (ResumeStore.Partial p : partials) {
          if (p != null) {
            p.discard(); // complete: nothing to resume any more
          }
        }
        journal.discard();
        finish();
        int files = offer.count(Offer.Kind.FILE);
        log.info("{}: stored {} files, {} bytes from {} ({} resumed)", link.id(), files, offer.totalBytes(), from, resumed);
        return new Received(from, files, offer.count(Offer.Kind.FOLDER), offer.totalBytes(), resumed,
            Duration.ofMillis(clock.millis() - start), List.copyOf(names), List.copyOf(notes));
      } catch (FileTransferException e) {
        throw e;
      } catch (IOException | RuntimeException e) {
        throw fail(from, e);
      } finally {
        watchdog.close();
        if (journal != null) {
          journal.close();
        }
        if (partials != null) {
          for (ResumeStore.Partial p : partials) {
            if (p != null) {
              p.closeQuietly();
            }
          }
        }
        if (aligned != null && alignedBuffers.size() < options.maxConcurrent()) {
          alignedBuffers.offer(aligned); // no writer holds it any more: the part files are closed
        }
        release();
      }
    }

    /** Tells the sender why (when it can) and turns {@code e} into what the caller reports. */
    private FileTransferException fail(Address from, Exception e) {
      String reason;
      if (watchdog.fired()) {
        reason = IdleWatchdog.describe(options.idleTimeout()) + ": transfer abandoned";
      } else if (e instanceof FileTransfer.Refusal || e instanceof EOFException) {
        reason = e.getMessage();
      } else if (e instanceof Link.Broken) {
        reason = "the connection broke (" + RemoteText.printable(e.getMessage()) + ")";
      } else {
        log.warn("{}: receiving from {} failed: {}", link.id(), from, e.toString());
        log.debug("{}: the failure in full", link.id(), e); // the stack trace only with -vv
        reason = "the receiver could not store it (its own log says why)"; // no class name to the peer
      }
      String where = current >= 0 ? " '" + RemoteText.printable(offer.entries().get(current).path()) + "'" : "";
      try {
        if (!accepted) {
          FileTransfer.writeStatus(out, FileTransfer.REFUSED, reason);
        } else if (current >= 0) {
          FileTransfer.writeAck(out, FileTransfer.FAILED, current, reason);
          out.flush();
        }
        finish();
      } catch (IOException | RuntimeException gone) {
        link.abort("failed: " + reason); // the sender will see the reset instead of our reason
      }
      boolean kept = partials != null && current >= 0 && partials[current] != null && partials[current].verifiedChunks() > 0;
      if (!accepted) {
        return new FileTransferException("refused an offer from " + from + ": " + reason, e);
      }
      return new FileTransferException("receiving" + where + " from " + from + " failed: " + reason
          + (kept ? " (the verified part is kept to resume)" : ""), e);
    }

    private void finish() throws IOException {
      try {
        out.flush();
        link.endOutput();
      } finally {
        link.lingerAndClose(LINGER);
      }
    }

    /** Checks the offer and claims space and a slot; null if admitted, else why not. */
    private String admit() throws IOException {
      String why = check(offer, options.allowHidden());
      if (why != null) {
        return why;
      }
      for (Offer.Entry e : offer.entries()) {
        if (e.kind() != Offer.Kind.SKIPPED) {
          try {
            SafeFileNames.resolve(dir, e.path()); // e.g. non-ASCII under a C locale: refuse now, not half way
          } catch (IOException unstorable) {
            return unstorable.getMessage();
          }
        }
      }
      partials = new ResumeStore.Partial[offer.entries().size()];
      long need = 0;
      for (int i = 0; i < partials.length; i++) {
        Offer.Entry e = offer.entries().get(i);
        if (e.kind() != Offer.Kind.FILE) {
          continue;
        }
        String key = ResumeStore.key(link.remote(), e.path(), e.size());
        if (!keys.add(key)) {
          return "'" + RemoteText.printable(e.path()) + "' is offered twice";
        }
        need += e.size();
      }
      journal = store.journal(link.remote());
      synchronized (FileReceiver.this) {
        if (running >= options.maxConcurrent()) {
          return "the receiver is busy with " + running + " transfers; try again later";
        }
        for (String k : keys) {
          if (busyKeys.contains(k)) {
            return "these files are already being received from " + link.remote();
          }
        }
        running++;
        busyKeys.addAll(keys);
        admitted = true;
      }
      for (int i = 0; i < partials.length; i++) {
        Offer.Entry e = offer.entries().get(i);
        if (e.kind() == Offer.Kind.FILE) {
          partials[i] = store.load(link.remote(), e, journal);
          need -= partials[i].storedAs() != null ? e.size() : partials[i].verifiedBytes();
        }
      }
      synchronized (FileReceiver.this) {
        long free = dir.toFile().getUsableSpace() - claimed - options.diskReserve();
        if (need > free) {
          return "too large: it needs " + need + " bytes and the receiver has " + Math.max(free, 0)
              + " free (keeping " + options.diskReserve() + " spare)";
        }
        claimed += need;
        claim = need;
      }
      return null;
    }

    private void release() {
      synchronized (FileReceiver.this) {
        if (admitted) {
          running--;
          busyKeys.removeAll(keys);
          claimed -= claim;
          admitted = false;
        }
      }
    }

    /** Says yes, with what we hold of each file. */
    private void accept() throws IOException {
      buf = new byte[FileTransfer.CHUNK_BYTES];
      FileTransfer.writeStatus(out, FileTransfer.OK, "accepted");
      List<Integer> held = new ArrayList<>();
      for (int i = 0; i < partials.length; i++) {
        if (partials[i] != null && partials[i].resumable()) {
          held.add(i);
        }
      }
      out.writeInt(held.size());
      for (int i : held) {
        ResumeStore.Partial p = partials[i];
        out.writeInt(i);
        out.writeByte(p.storedAs() != null ? FileTransfer.FLAG_COMPLETE : 0);
        out.writeInt(p.verifiedChunks());
        out.write(p.verifiedSums());
      }
      out.flush();
      accepted = true;
    }

    private int[] skips;

    private void readSkips() throws IOException {
      skips = new int[partials.length];
      int n = in.readInt();
      if (n < 0 || n > partials.length) {
        throw new FileTransfer.ProtocolError("bad resume count " + n);
      }
      int last = -1;
      for (int j = 0; j < n; j++) {
        int i = in.readInt();
        int m = in.readInt();
        if (i <= last || i >= partials.length || partials[i] == null || m < 0 || m > partials[i].verifiedChunks()
            || (partials[i].storedAs() != null && m != 0 && m != partials[i].verifiedChunks())) {
          throw new FileTransfer.ProtocolError("bad resume point " + m + " for entry " + i);
        }
        last = i;
        skips[i] = m;
      }
      long skipped = 0;
      for (int i = 0; i < partials.length; i++) {
        if (partials[i] != null) {
          skipped += Math.min(partials[i].entry().size(), (long) skips[i] * FileTransfer.CHUNK_BYTES);
        }
      }
      resumed = skipped;
      done = skipped;
      progress.started(offer.totalBytes(), skipped);
    }

    /** An entry received and checked but not yet acknowledged (files not yet placed). */
    private record Pending(int index, Offer.Entry entry, ResumeStore.Partial partial, int resumedChunks, String note) {}

    private final List<Pending> batch = new ArrayList<>();
    private long batchBytes;
    private final Set<Path> touched = new HashSet<>();

    /** Receives one entry into the batch. */
    private void receiveEntry(int i, Offer.Entry e) throws IOException {
      names.add(e.path().split("/", 2)[0]);
      switch (e.kind()) {
        case FOLDER -> {
          Path f = SafeFileNames.resolve(dir, e.path());
          SafeFileNames.createFolders(dir, e.path());
          touched.add(f.getParent());
          batch.add(new Pending(i, e, null, 0, null));
        }
        case SKIPPED -> batch.add(new Pending(i, e, null, 0,
            "'" + RemoteText.printable(e.path()) + "' was not sent (a symbolic link or special file)"));
        default -> receiveFile(i, partials[i], e, skips[i]);
      }
    }

    /**
     * Places the batch's files (forced to disk, then linked to their names), syncs the folders
     * they are in, and only then acknowledges them: one folder sync serves many small files.
     */
    private void flushBatch() throws IOException {
      forceAll();
      for (int j = 0; j < batch.size(); j++) {
        Pending p = batch.get(j);
        if (p.partial() != null && p.note() == null) {
          current = p.index();
          String note = place(p);
          batch.set(j, new Pending(p.index(), p.entry(), null, 0, note == null ? "" : note));
        }
      }
      for (Path f : touched) {
        syncFolder(f);
      }
      for (Pending p : batch) {
        String note = p.note() == null ? "" : p.note();
        FileTransfer.writeAck(out, FileTransfer.OK, p.index(), note);
        if (!note.isEmpty()) {
          notes.add(note);
        }
      }
      out.flush();
      batch.clear();
      touched.clear();
      batchBytes = 0;
    }

    private void receiveFile(int i, ResumeStore.Partial p, Offer.Entry e, int m) throws IOException {
      String shown = "'" + RemoteText.printable(e.path()) + "'";
      int chunks = e.chunks();
      MessageDigest chunkSha = FileTransfer.sha256();
      MessageDigest fileSha = FileTransfer.sha256(); // over the chunk hashes: a two-level hash of the file
      byte[] sums = p.verifiedSums();
      fileSha.update(sums, 0, m * FileTransfer.DIGEST_BYTES);
      byte[] expected = new byte[FileTransfer.DIGEST_BYTES];
      if (p.storedAs() != null && m == chunks) {
        FileTransfer.readFully(in, expected, "file hash of " + shown);
        if (!MessageDigest.isEqual(expected, fileSha.digest())) {
          throw new FileTransfer.Refusal("the SHA-256 of " + shown + " does not match the copy stored before");
        }
        batch.add(new Pending(i, e, null, m, shown + " was already here as '" + RemoteText.printable(rel(p.storedAs())) + "' (resumed)"));
        return;
      }
      SafeFileNames.resolve(dir, e.path());
      if (aligned == null && e.size() >= FileTransfer.CHUNK_BYTES) {
        ByteBuffer spare = alignedBuffers.poll();
        aligned = spare != null ? spare : FileAppender.alignedBuffer(FileTransfer.CHUNK_BYTES);
      }
      p.beginAt(m, aligned);
      byte[] hash = new byte[FileTransfer.DIGEST_BYTES];
      for (int c = m; c < chunks; c++) {
        int len = FileTransfer.chunkLength(e.size(), c);
        FileTransfer.readFully(in, buf, 0, len, "data of " + shown);
        FileTransfer.readFully(in, expected, "chunk hash of " + shown);
        chunkSha.update(buf, 0, len);
        FileTransfer.digestInto(chunkSha, hash);
        if (!MessageDigest.isEqual(expected, hash)) {
          throw new FileTransfer.Refusal("chunk " + (c + 1) + " of " + chunks + " of " + shown
              + " is damaged (SHA-256 mismatch); it was not stored");
        }
        p.append(buf, len, hash);
        fileSha.update(hash);
        done += len;
        progress.update(done, offer.totalBytes());
      }
      FileTransfer.readFully(in, expected, "file hash of " + shown);
      if (!MessageDigest.isEqual(expected, fileSha.digest())) {
        p.discard();
        throw new FileTransfer.Refusal("the SHA-256 of " + shown + " does not match; it was not stored");
      }
      p.finishData();
      batch.add(new Pending(i, e, p, m, null));
      batchBytes += e.size();
    }

    /**
     * Forces the batch's files to disk, several at once: the file system commits its journal once
     * for all the syncs that wait on it together, instead of once per file.
     */
    private void forceAll() throws IOException {
      List<java.util.concurrent.Future<?>> syncs = new ArrayList<>();
      for (Pending p : batch) {
        if (p.partial() != null && p.note() == null) {
          ResumeStore.Partial partial = p.partial();
          syncs.add(FSYNC.submit(() -> {
            partial.forceAndClose();
            return null;
          }));
        }
      }
      for (java.util.concurrent.Future<?> f : syncs) {
        try {
          f.get();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new java.io.InterruptedIOException("interrupted while syncing files");
        } catch (java.util.concurrent.ExecutionException e) {
          throw e.getCause() instanceof IOException io ? io : new IOException(e.getCause());
        }
      }
    }

    /** Links a verified file, already on disk, to its final name; returns a note for people, or null. */
    private String place(Pending pending) throws IOException {
      ResumeStore.Partial p = pending.partial();
      Offer.Entry e = pending.entry();
      int m = pending.resumedChunks();
      String shown = "'" + RemoteText.printable(e.path()) + "'";
      Path target = SafeFileNames.resolve(dir, e.path());
      Path tmp = p.finishData();
      if (e.executable()) {
        try {
          Set<PosixFilePermission> perms = new HashSet<>(Files.getPosixFilePermissions(tmp));
          perms.add(PosixFilePermission.OWNER_EXECUTE);
          Files.setPosixFilePermissions(tmp, perms);
        } catch (UnsupportedOperationException notPosix) {
          // the file system keeps no execute bit
        }
      }
      Path folder = target.getParent();
      if (!folder.equals(dir)) {
        SafeFileNames.createFolders(dir, rel(folder));
      }
      String name = target.getFileName().toString();
      Path stored = options.overwrite()
          ? SafeFileNames.placeReplacing(tmp, folder, name)
          : SafeFileNames.placeWithoutReplacing(tmp, folder, name);
      touched.add(folder);
      p.markStored(stored);
      String resumedNote = m > 0 ? " (" + Math.min(e.size(), (long) m * FileTransfer.CHUNK_BYTES) + " bytes resumed)" : "";
      if (!stored.equals(target)) {
        return shown + " existed: stored as '" + RemoteText.printable(rel(stored)) + "'" + resumedNote;
      }
      return m > 0 ? shown + resumedNote.replace(" (", ": ").replace(")", "") : null;
    }

    private String rel(Path p) {
      return dir.relativize(p).toString().replace(p.getFileSystem().getSeparator(), "/");
    }
  }

  /** Makes a rename in {@code folder} durable (POSIX: fsync the directory; elsewhere a no-op). */
  static void syncFolder(Path folder) {
    try (FileChannel c = FileChannel.open(folder, StandardOpenOption.READ)) {
      c.force(true);
    } catch (IOException | UnsupportedOperationException e) {
      log.debug("cannot sync folder {}: {}", folder, e.toString()); // e.g. Windows: renames are journaled there
    }
  }

  /**
   * Checks an offer's paths, duplicates and file/folder clashes.
   *
   * @return null if acceptable, else why not
   */
  static String check(Offer offer, boolean allowHidden) {
    Map<String, Offer.Kind> seen = new HashMap<>();
    for (Offer.Entry e : offer.entries()) {
      if (e.kind() == Offer.Kind.SKIPPED) {
        continue; // only a note: printed escaped, never used as a name
      }
      String why = SafeFileNames.checkPath(e.path(), allowHidden);
      if (why != null) {
        return why;
      }
      String shown = "'" + RemoteText.printable(e.path()) + "'";
      for (int slash = e.path().indexOf('/'); slash >= 0; slash = e.path().indexOf('/', slash + 1)) {
        String prefix = e.path().substring(0, slash);
        if (seen.putIfAbsent(prefix, Offer.Kind.FOLDER) == Offer.Kind.FILE) {
          return shown + " is inside '" + RemoteText.printable(prefix) + "', which is offered as a file";
        }
      }
      Offer.Kind before = seen.putIfAbsent(e.path(), e.kind());
      if (before != null && (before == Offer.Kind.FILE || e.kind() == Offer.Kind.FILE)) {
        return shown + " is offered twice";
      }
    }
    return null;
  }
}
