package org.q2q.client.files;

import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import org.q2q.client.VirtualChannel;

/**
 * Sends one file on a channel to a file-service listener and waits for its verdict. Blocking; not
 * for event-loop threads.
 */
public final class FileSender {
  private static final int BUFFER = 256 * 1024;

  private final Clock clock;

  public FileSender(Clock clock) {
    this.clock = clock;
  }

  /** What was sent. */
  public record Sent(String name, long size, String sha256, Duration elapsed) {}

  /**
   * Sends {@code file} (its file name, size, bytes and SHA-256) on {@code channel}.
   *
   * @return once the receiver confirmed it stored the file intact
   * @throws FileTransferException if the receiver refused or failed it (its reason), or the
   *     channel failed
   * @throws IOException if the file cannot be read
   */
  public Sent send(VirtualChannel channel, Path file, TransferProgress progress) throws IOException {
    if (!Files.isRegularFile(file)) {
      throw new IOException(file + " is not a regular file");
    }
    long size = Files.size(file);
    String name = file.getFileName().toString();
    long start = clock.millis();
    MessageDigest sha = sha256();
    DataInputStream in = new DataInputStream(channel.inputStream());
    DataOutputStream out = new DataOutputStream(new BufferedOutputStream(channel.outputStream(), BUFFER));
    try (InputStream src = Files.newInputStream(file)) {
      FileTransfer.writeHeader(out, new FileTransfer.Header(name, size));
      FileTransfer.Status go = status(in, "before the transfer");
      if (!go.ok()) {
        throw new FileTransferException("the receiver refused " + name + ": " + go.message(), true);
      }
      byte[] buf = new byte[BUFFER];
      long done = 0;
      while (done < size) {
        int n = src.read(buf, 0, (int) Math.min(buf.length, size - done));
        if (n < 0) {
          throw new IOException(file + " shrank while being sent (" + done + " of " + size + " bytes)");
        }
        sha.update(buf, 0, n);
        out.write(buf, 0, n);
        done += n;
        progress.update(done, size);
      }
      byte[] digest = sha.digest();
      out.write(digest);
      out.flush();
      channel.outputStream().close(); // half-close: the receiver sees the end after the digest
      FileTransfer.Status verdict = status(in, "after the transfer");
      if (!verdict.ok()) {
        throw new FileTransferException("the receiver did not store " + name + ": " + verdict.message(), true);
      }
      in.read(); // the receiver's end of stream follows its verdict; then both directions are done
      channel.close();
      return new Sent(name, size, FileTransfer.hex(digest), Duration.ofMillis(clock.millis() - start));
    } catch (FileTransferException e) {
      channel.close();
      throw e;
    } catch (IOException e) {
      channel.close();
      if (e.getMessage() != null && e.getMessage().startsWith(file.toString())) {
        throw e;
      }
      throw new FileTransferException("sending " + name + " failed: " + e.getMessage(), e);
    }
  }

  private static FileTransfer.Status status(DataInputStream in, String when) throws IOException {
    try {
      return FileTransfer.readStatus(in);
    } catch (EOFException e) {
      throw new FileTransferException("the receiver closed the channel " + when + " without an answer", e);
    }
  }

  static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("no SHA-256 in this JVM", e);
    }
  }
}
