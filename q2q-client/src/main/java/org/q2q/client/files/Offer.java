package org.q2q.client.files;

import java.util.List;
import java.util.Objects;

/**
 * What a sender proposes to send: its entries in sending order (every folder before what it
 * contains), each a relative path with {@code /} separators. The receiver accepts or refuses it
 * whole before any data flows.
 */
public record Offer(List<Entry> entries) {
  /** What an entry is. Wire codes are stable. */
  public enum Kind {
    /** A regular file; its bytes follow in the data phase. */
    FILE(0),
    /** A folder (sent so that empty folders arrive too). */
    FOLDER(1),
    /** Something the sender did not send (a symbolic link, a device...): a note for the receiver. */
    SKIPPED(2);

    final int code;

    Kind(int code) {
      this.code = code;
    }

    static Kind of(int code) {
      for (Kind k : values()) {
        if (k.code == code) {
          return k;
        }
      }
      return null;
    }
  }

  /**
   * One entry.
   *
   * @param path relative, {@code /}-separated, as the receiver should store it
   * @param size the file's size in bytes (0 for folders and notes)
   * @param executable whether the owner may execute it (the one mode bit kept)
   */
  public record Entry(Kind kind, String path, long size, boolean executable) {
    public Entry {
      Objects.requireNonNull(kind, "kind");
      Objects.requireNonNull(path, "path");
      if (size < 0 || (kind != Kind.FILE && size != 0)) {
        throw new IllegalArgumentException("bad size " + size + " for " + kind + " " + path);
      }
    }

    /** A file entry. */
    public static Entry file(String path, long size, boolean executable) {
      return new Entry(Kind.FILE, path, size, executable);
    }

    /** A folder entry. */
    public static Entry folder(String path) {
      return new Entry(Kind.FOLDER, path, 0, false);
    }

    /** A note that {@code path} was not sent. */
    public static Entry skipped(String path) {
      return new Entry(Kind.SKIPPED, path, 0, false);
    }

    /** Number of chunks of this file ({@value FileTransfer#CHUNK_BYTES} bytes each, the last may be shorter). */
    public int chunks() {
      return FileTransfer.chunks(size);
    }
  }

  public Offer {
    entries = List.copyOf(entries);
  }

  /** Sum of the file sizes. */
  public long totalBytes() {
    long t = 0;
    for (Entry e : entries) {
      t += e.size();
    }
    return t;
  }

  /** Number of entries of {@code kind}. */
  public int count(Kind kind) {
    int n = 0;
    for (Entry e : entries) {
      if (e.kind() == kind) {
        n++;
      }
    }
    return n;
  }

  /** "3 files, 1 folder", for people. */
  public String describe() {
    int files = count(Kind.FILE);
    int folders = count(Kind.FOLDER);
    return files + (files == 1 ? " file" : " files")
        + (folders == 0 ? "" : ", " + folders + (folders == 1 ? " folder" : " folders"));
  }
}
