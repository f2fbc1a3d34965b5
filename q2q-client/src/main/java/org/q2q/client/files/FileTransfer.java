package org.q2q.client.files;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;

/**
 * The wire format of the file service, version 2 (integers big-endian, strings UTF-8 and checked
 * strictly). One transfer per channel:
 *
 * <pre>
 * offer    S-&gt;R  "Q2QF" u8 version=2, u32 count, u64 total bytes,
 *                count x { u8 kind (0 file, 1 folder, 2 skipped note), u8 flags (bit 0: owner may
 *                execute), u16 path length, path ('/'-separated, relative), u64 size }
 * verdict  R-&gt;S  status (0 = accepted, else refused and why); if accepted: u32 n,
 *                n x { u32 entry index, u8 flags (bit 0: already stored whole), u32 k, k x 32-byte
 *                SHA-256 }: the chunks of that file the receiver already holds, verified
 * skips    S-&gt;R  u32 n, n x { u32 entry index, u32 m }: m &lt;= k leading chunks match the sender's
 *                file and are not sent again (for a file stored whole: m = k or 0)
 * data     S-&gt;R  for each file entry, in order: its chunks from m on, each min(1 MiB, rest) bytes
 *                followed by their SHA-256; then the SHA-256 of the whole file; end of stream
 * acks     R-&gt;S  for every entry, in order (in batches: the receiver syncs a folder once for many
 *                small files): u8 code (0 stored, else failed), u32 index, u16 length, message; then
 *                end of stream. A failure ends the transfer and may name an entry after the last one
 *                acknowledged.
 * status         u8 code, u16 length, message
 * </pre>
 *
 * The receiver checks each chunk's hash before a byte of it reaches the disk, so a damaged chunk
 * is caught where it is and never stored. Every length is bounded ({@link #MAX_ENTRIES}, {@link
 * #MAX_PATH_BYTES}, {@link #MAX_OFFER_BYTES}, {@link #MAX_MESSAGE_BYTES}) and every read is a
 * {@code readFully}. Public so that tests (and other implementations) can speak it.
 */
public final class FileTransfer {
  /** The service name the receiver listens on. */
  public static final String SERVICE = "file";

  /**
   * Peer flow control for clients that move files ({@code Q2qClient.Builder.peerFlowControl}): a
   * file channel buffers up to 8 MiB before choking the sender, so a receiver thread that is late
   * for a few milliseconds (disk, hashing, a busy machine) does not stall the pipeline, at the
   * cost of that much memory per transfer.
   */
  public static final int CHANNEL_BUFFER = 8 << 20;

  /** The session window that goes with {@link #CHANNEL_BUFFER}. */
  public static final int SESSION_WINDOW = 16 << 20;

  /** The unit of verification and of resume. */
  public static final int CHUNK_BYTES = 1 << 20;
  /** Most entries (files, folders, notes) in one offer; a larger send must be split. */
  public static final int MAX_ENTRIES = 100_000;
  /** Longest path component, in UTF-8 bytes (a common file system limit). */
  public static final int MAX_NAME_BYTES = 255;
  /** Longest relative path, in UTF-8 bytes (Linux's PATH_MAX). */
  public static final int MAX_PATH_BYTES = 4096;
  /** Most components in a relative path. */
  public static final int MAX_DEPTH = 64;
  /** Largest encoded offer: bounds the receiver's memory before it has said yes. */
  public static final int MAX_OFFER_BYTES = 16 << 20;
  /** Longest status or acknowledgement message, in UTF-8 bytes. */
  public static final int MAX_MESSAGE_BYTES = 1024;
  /** Largest file: the chunk count must fit a signed 32-bit integer (about 2 PiB). */
  public static final long MAX_FILE_BYTES = (long) Integer.MAX_VALUE * CHUNK_BYTES;

  public static final int VERSION = 2;
  public static final int DIGEST_BYTES = 32;
  /** Status and acknowledgement codes. */
  public static final int OK = 0;
  public static final int REFUSED = 1;
  public static final int FAILED = 2;

  static final byte[] MAGIC = {'Q', '2', 'Q', 'F'};
  static final int FLAG_EXECUTABLE = 1;
  static final int FLAG_COMPLETE = 1;

  private FileTransfer() {}

  /** A status or acknowledgement. {@code index} is -1 for a status. */
  public record Status(int code, int index, String message) {
    public boolean ok() {
      return code == OK;
    }
  }

  /** Chunks of a file of {@code size} bytes. */
  public static int chunks(long size) {
    return (int) ((size + CHUNK_BYTES - 1) / CHUNK_BYTES);
  }

  /** Length of chunk {@code i} of a file of {@code size} bytes. */
  static int chunkLength(long size, int i) {
    return (int) Math.min(CHUNK_BYTES, size - (long) i * CHUNK_BYTES);
  }

  /** Writes {@code offer} (flushes). */
  public static void writeOffer(DataOutputStream out, Offer offer) throws IOException {
    if (offer.entries().size() > MAX_ENTRIES) {
      throw new IOException("more than " + MAX_ENTRIES + " entries in one transfer; send them in parts");
    }
    out.write(MAGIC);
    out.writeByte(VERSION);
    out.writeInt(offer.entries().size());
    out.writeLong(offer.totalBytes());
    for (Offer.Entry e : offer.entries()) {
      byte[] p = e.path().getBytes(StandardCharsets.UTF_8);
      if (p.length > MAX_PATH_BYTES) {
        throw new IOException("path longer than " + MAX_PATH_BYTES + " bytes: " + e.path());
      }
      out.writeByte(e.kind().code);
      out.writeByte(e.executable() ? FLAG_EXECUTABLE : 0);
      out.writeShort(p.length);
      out.write(p);
      out.writeLong(e.size());
    }
    out.flush();
  }

  /**
   * Reads an offer, checking its bounds and encoding (not yet its names: that is {@link
   * SafeFileNames}' job, so the refusal can name the entry).
   */
  public static Offer readOffer(DataInputStream in) throws IOException {
    byte[] magic = new byte[4];
    readFully(in, magic, "offer");
    if (!Arrays.equals(magic, MAGIC)) {
      throw new ProtocolError("not a q2q file transfer (bad magic)");
    }
    int version = in.readUnsignedByte();
    if (version != VERSION) {
      throw new ProtocolError("unsupported file transfer version " + version + " (this side speaks " + VERSION + ")");
    }
    int count = in.readInt();
    if (count < 0 || count > MAX_ENTRIES) {
      throw new ProtocolError("an offer of " + Integer.toUnsignedString(count) + " entries; at most "
          + MAX_ENTRIES + " are accepted in one transfer");
    }
    long total = in.readLong();
    long encoded = 17;
    long sum = 0;
    List<Offer.Entry> entries = new ArrayList<>(Math.min(count, 1024));
    for (int i = 0; i < count; i++) {
      int kindCode = in.readUnsignedByte();
      int flags = in.readUnsignedByte();
      int len = in.readUnsignedShort();
      encoded += 12 + len;
      if (len > MAX_PATH_BYTES) {
        throw new ProtocolError("entry " + i + ": path longer than " + MAX_PATH_BYTES + " bytes");
      }
      if (encoded > MAX_OFFER_BYTES) {
        throw new ProtocolError("offer larger than " + MAX_OFFER_BYTES + " bytes");
      }
      byte[] p = new byte[len];
      readFully(in, p, "offer");
      long size = in.readLong();
      Offer.Kind kind = Offer.Kind.of(kindCode);
      if (kind == null) {
        throw new ProtocolError("entry " + i + ": unknown kind " + kindCode);
      }
      if (size < 0 || size > MAX_FILE_BYTES || (kind != Offer.Kind.FILE && size != 0)) {
        throw new ProtocolError("entry " + i + ": bad size " + size);
      }
      sum += size;
      if (sum > total || sum < 0) {
        throw new ProtocolError("the entries add up to more than the offered total of " + total + " bytes");
      }
      entries.add(new Offer.Entry(kind, decode(p, "entry " + i + " path"), size, (flags & FLAG_EXECUTABLE) != 0));
    }
    if (sum != total) {
      throw new ProtocolError("the entries add up to " + sum + " bytes, not the offered " + total);
    }
    return new Offer(entries);
  }

  /** Writes a status (flushes); the message is cut to {@link #MAX_MESSAGE_BYTES} on a character boundary. */
  public static void writeStatus(DataOutputStream out, int code, String message) throws IOException {
    byte[] m = truncateUtf8(message, MAX_MESSAGE_BYTES);
    out.writeByte(code);
    out.writeShort(m.length);
    out.write(m);
    out.flush();
  }

  /** Reads a status. */
  public static Status readStatus(DataInputStream in) throws IOException {
    int code = in.readUnsignedByte();
    return new Status(code, -1, readMessage(in));
  }

  /** Writes the acknowledgement of entry {@code index} (not flushed). */
  public static void writeAck(DataOutputStream out, int code, int index, String message) throws IOException {
    byte[] m = truncateUtf8(message, MAX_MESSAGE_BYTES);
    out.writeByte(code);
    out.writeInt(index);
    out.writeShort(m.length);
    out.write(m);
  }

  /** Reads an acknowledgement. */
  public static Status readAck(DataInputStream in) throws IOException {
    int code = in.readUnsignedByte();
    int index = in.readInt();
    return new Status(code, index, readMessage(in));
  }

  private static String readMessage(DataInputStream in) throws IOException {
    int len = in.readUnsignedShort();
    if (len > MAX_MESSAGE_BYTES) {
      throw new ProtocolError("message longer than " + MAX_MESSAGE_BYTES + " bytes");
    }
    byte[] m = new byte[len];
    readFully(in, m, "message");
    return new String(m, StandardCharsets.UTF_8);
  }

  /** Strict UTF-8: malformed input (e.g. an encoded lone surrogate) is an error, never replaced. */
  static String decode(byte[] bytes, String what) throws ProtocolError {
    try {
      return StandardCharsets.UTF_8.newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(bytes)).toString();
    } catch (CharacterCodingException e) {
      throw new ProtocolError(what + " is not valid UTF-8 (a split or lone surrogate, or a bad byte)");
    }
  }

  /** At most {@code max} bytes of UTF-8, cut before a whole code point. */
  static byte[] truncateUtf8(String s, int max) {
    byte[] b = s.getBytes(StandardCharsets.UTF_8);
    if (b.length <= max) {
      return b;
    }
    int end = max;
    while (end > 0 && (b[end] & 0xC0) == 0x80) {
      end--; // b[end] is a continuation byte: the code point started earlier
    }
    return Arrays.copyOf(b, end);
  }

  static void readFully(DataInputStream in, byte[] b, String what) throws IOException {
    readFully(in, b, 0, b.length, what);
  }

  static void readFully(DataInputStream in, byte[] b, int off, int len, String what) throws IOException {
    try {
      in.readFully(b, off, len);
    } catch (EOFException e) {
      throw new EOFException("the peer ended the stream in the middle of the " + what);
    }
  }

  /** A new SHA-256 digest. */
  public static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("no SHA-256 in this JVM", e);
    }
  }

  /** Finishes {@code d} into {@code out} (32 bytes), without allocating. */
  static void digestInto(MessageDigest d, byte[] out) {
    try {
      d.digest(out, 0, out.length);
    } catch (java.security.DigestException e) {
      throw new IllegalStateException("SHA-256 into " + out.length + " bytes", e);
    }
  }

  static String hex(byte[] digest) {
    return HexFormat.of().formatHex(digest);
  }

  /** A reason to stop a transfer that both sides should see (it names nothing local). */
  static class Refusal extends IOException {
    private static final long serialVersionUID = 1L;

    Refusal(String message) {
      super(message);
    }
  }

  /** The peer broke the format; the message says how. */
  static final class ProtocolError extends Refusal {
    private static final long serialVersionUID = 1L;

    ProtocolError(String message) {
      super(message);
    }
  }
}
