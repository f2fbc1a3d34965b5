package org.q2q.client.files;

import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Duration;
import org.q2q.certstore.Address;
import org.q2q.client.VirtualChannel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Receives one file from a channel into a folder. Blocking; not for event-loop threads.
 *
 * <ul>
 *   <li>The name is checked with {@link SafeFileNames#check}; an unsafe name is refused and the
 *       sender told why.
 *   <li>Bytes go to a hidden temporary file in the target folder ({@code .name.q2q-partial-*}),
 *       which is deleted on any failure.
 *   <li>Only when all bytes arrived and the SHA-256 matches is the file moved to its final name,
 *       never overwriting: the name itself, else {@code "name (1).ext"}, ... ({@link
 *       SafeFileNames#reserve}).
 * </ul>
 */
public final class FileReceiver {
  private static final Logger log = LoggerFactory.getLogger(FileReceiver.class);
  private static final int BUFFER = 256 * 1024;
  private static final long LINGER_SECONDS = 10;
  private static final java.security.SecureRandom RANDOM = new java.security.SecureRandom();

  private final Path dir;
  private final Clock clock;

  /** @param dir the folder files are stored in (must exist) */
  public FileReceiver(Path dir, Clock clock) {
    this.dir = dir.toAbsolutePath().normalize();
    this.clock = clock;
  }

  /** A stored file. */
  public record Received(Address from, String sentName, Path path, long size, String sha256, Duration elapsed) {}

  /**
   * Receives one file from {@code channel}.
   *
   * @throws FileTransferException why it was not stored (the sender was told when possible)
   */
  public Received receive(VirtualChannel channel, TransferProgress progress) throws FileTransferException {
    long start = clock.millis();
    DataInputStream in = new DataInputStream(channel.inputStream());
    DataOutputStream out = new DataOutputStream(new BufferedOutputStream(channel.outputStream(), 1024));
    Path tmp = null;
    String name = "?";
    try {
      FileTransfer.Header h = FileTransfer.readHeader(in);
      name = h.name();
      String why = SafeFileNames.check(h.name());
      if (why == null && dir.toFile().getUsableSpace() < h.size()) {
        why = "not enough free space for " + h.size() + " bytes";
      }
      if (why != null) {
        refuse(out, FileTransfer.REFUSED, why);
        throw new FileTransferException("refused a file from " + channel.remoteAddress() + ": " + why, false);
      }
      tmp = Files.createFile(dir.resolve(partialName(h.name()))); // umask permissions, like any new file
      MessageDigest sha = FileSender.sha256();
      FileTransfer.writeStatus(out, FileTransfer.OK, "");
      try (OutputStream file = new BufferedOutputStream(Files.newOutputStream(tmp, StandardOpenOption.WRITE), BUFFER)) {
        byte[] buf = new byte[BUFFER];
        long done = 0;
        while (done < h.size()) {
          int n = in.read(buf, 0, (int) Math.min(buf.length, h.size() - done));
          if (n < 0) {
            throw new EOFException("the sender ended the stream after " + done + " of " + h.size() + " bytes");
          }
          sha.update(buf, 0, n);
          file.write(buf, 0, n);
          done += n;
          progress.update(done, h.size());
        }
      }
      byte[] expected = new byte[FileTransfer.DIGEST_BYTES];
      FileTransfer.readFully(in, expected, "checksum");
      byte[] actual = sha.digest();
      if (!MessageDigest.isEqual(expected, actual)) {
        refuse(out, FileTransfer.FAILED, "SHA-256 mismatch: the file was damaged in transit");
        throw new FileTransferException("the SHA-256 of " + h.name() + " from " + channel.remoteAddress()
            + " does not match: discarded", false);
      }
      Path target = SafeFileNames.reserve(dir, h.name());
      try {
        Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } catch (IOException e) {
        Files.deleteIfExists(target);
        throw e;
      }
      tmp = null;
      FileTransfer.writeStatus(out, FileTransfer.OK, "stored as " + target.getFileName());
      channel.outputStream().close();
      linger(channel);
      return new Received(channel.remoteAddress(), h.name(), target, h.size(), FileTransfer.hex(actual),
          Duration.ofMillis(clock.millis() - start));
    } catch (FileTransferException e) {
      linger(channel);
      throw e;
    } catch (IOException e) {
      if (e instanceof FileTransfer.ProtocolError) {
        refuse(out, FileTransfer.REFUSED, e.getMessage());
      } else {
        refuse(out, FileTransfer.FAILED, "the receiver could not store the file");
      }
      linger(channel);
      throw new FileTransferException("receiving " + name + " from " + channel.remoteAddress() + " failed: "
          + e.getMessage(), e);
    } finally {
      if (tmp != null) {
        try {
          Files.deleteIfExists(tmp);
        } catch (IOException e) {
          log.warn("cannot delete the partial file {}: {}", tmp, e.getMessage());
        }
      }
    }
  }

  /** A hidden, unique temporary name in the target folder, short enough for any file system. */
  static String partialName(String name) {
    String stem = name.length() > 64 ? name.substring(0, 64) : name;
    byte[] r = new byte[8];
    RANDOM.nextBytes(r);
    return "." + stem + ".q2q-partial-" + FileTransfer.hex(r);
  }

  /**
   * Lets the sender read our last status before the channel goes: it closes the channel once it
   * has, and only a sender that does not is cut off (after {@link #LINGER_SECONDS}).
   */
  private static void linger(VirtualChannel channel) {
    channel.closeFuture().awaitUninterruptibly(LINGER_SECONDS, java.util.concurrent.TimeUnit.SECONDS);
    channel.close();
  }

  private static void refuse(DataOutputStream out, int code, String why) {
    try {
      FileTransfer.writeStatus(out, code, why);
      out.close();
    } catch (IOException ignored) {
      // the channel is gone; the sender will see that instead of our reason
    }
  }
}
