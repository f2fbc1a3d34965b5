package org.q2q.client.files;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;

/**
 * The wire format of the file service, version 1 (integers big-endian):
 *
 * <pre>
 * sender   -&gt; receiver: "Q2QF" u8 version=1, u16 name length, name (UTF-8), u64 size
 * receiver -&gt; sender  : status (go ahead, or why not)
 * sender   -&gt; receiver: exactly size bytes, then the 32-byte SHA-256 of them, then end of stream
 * receiver -&gt; sender  : status (stored, or why not), then end of stream
 * status              : u8 code (0 = OK), u16 message length, message (UTF-8)
 * </pre>
 *
 * Every read is a {@code readFully}: nothing assumes a header arrives in one piece (Vertex's
 * receiver did).
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
  /** Longest file name accepted on the wire, in UTF-8 bytes (a common file system limit). */
  public static final int MAX_NAME_BYTES = 255;

  static final byte[] MAGIC = {'Q', '2', 'Q', 'F'};
  static final int VERSION = 1;
  static final int OK = 0;
  static final int REFUSED = 1;
  static final int FAILED = 2;
  static final int DIGEST_BYTES = 32;

  private FileTransfer() {}

  /** The header: what is coming. */
  record Header(String name, long size) {}

  /** A status message. */
  record Status(int code, String message) {
    boolean ok() {
      return code == OK;
    }
  }

  static void writeHeader(DataOutputStream out, Header h) throws IOException {
    byte[] name = h.name().getBytes(StandardCharsets.UTF_8);
    if (name.length > MAX_NAME_BYTES) {
      throw new IOException("file name longer than " + MAX_NAME_BYTES + " bytes: " + h.name());
    }
    out.write(MAGIC);
    out.writeByte(VERSION);
    out.writeShort(name.length);
    out.write(name);
    out.writeLong(h.size());
    out.flush();
  }

  static Header readHeader(DataInputStream in) throws IOException {
    byte[] magic = new byte[4];
    readFully(in, magic, "header");
    if (!java.util.Arrays.equals(magic, MAGIC)) {
      throw new ProtocolError("not a q2q file transfer (bad magic)");
    }
    int version = in.readUnsignedByte();
    if (version != VERSION) {
      throw new ProtocolError("unsupported file transfer version " + version + " (this side speaks " + VERSION + ")");
    }
    int len = in.readUnsignedShort();
    if (len > MAX_NAME_BYTES) {
      throw new ProtocolError("file name longer than " + MAX_NAME_BYTES + " bytes");
    }
    byte[] name = new byte[len];
    readFully(in, name, "file name");
    long size = in.readLong();
    if (size < 0) {
      throw new ProtocolError("negative file size " + size);
    }
    return new Header(new String(name, StandardCharsets.UTF_8), size);
  }

  static void writeStatus(DataOutputStream out, int code, String message) throws IOException {
    byte[] m = message.getBytes(StandardCharsets.UTF_8);
    int len = Math.min(m.length, 1024);
    out.writeByte(code);
    out.writeShort(len);
    out.write(m, 0, len);
    out.flush();
  }

  static Status readStatus(DataInputStream in) throws IOException {
    int code = in.readUnsignedByte();
    int len = in.readUnsignedShort();
    byte[] m = new byte[len];
    readFully(in, m, "status");
    return new Status(code, new String(m, StandardCharsets.UTF_8));
  }

  static void readFully(DataInputStream in, byte[] b, String what) throws IOException {
    try {
      in.readFully(b);
    } catch (EOFException e) {
      throw new EOFException("the peer ended the stream in the middle of the " + what);
    }
  }

  static String hex(byte[] digest) {
    return HexFormat.of().formatHex(digest);
  }

  /** The peer broke the format; the message says how. */
  static final class ProtocolError extends IOException {
    private static final long serialVersionUID = 1L;

    ProtocolError(String message) {
      super(message);
    }
  }
}
