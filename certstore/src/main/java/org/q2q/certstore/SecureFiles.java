package org.q2q.certstore;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;

/**
 * Files that hold secrets or identities: folders 0700, secret files 0600, written atomically (a
 * temporary file in the same folder, then a rename), so a crash never leaves half a key.
 */
public final class SecureFiles {
  private static final boolean POSIX =
      FileSystems.getDefault().supportedFileAttributeViews().contains("posix");
  private static final Set<PosixFilePermission> DIR = PosixFilePermissions.fromString("rwx------");
  private static final Set<PosixFilePermission> SECRET = PosixFilePermissions.fromString("rw-------");
  private static final Set<PosixFilePermission> PUBLIC = PosixFilePermissions.fromString("rw-r--r--");

  private SecureFiles() {}

  /** Creates {@code dir} and missing parents; folders this creates are 0700. */
  public static Path createPrivateDirectories(Path dir) throws IOException {
    Path abs = dir.toAbsolutePath();
    if (Files.isDirectory(abs)) {
      return abs;
    }
    if (abs.getParent() != null) {
      createPrivateDirectories(abs.getParent());
    }
    try {
      Files.createDirectory(abs);
    } catch (java.nio.file.FileAlreadyExistsException e) {
      if (!Files.isDirectory(abs)) {
        throw new IOException(abs + " exists and is not a folder");
      }
      return abs;
    }
    if (POSIX) {
      Files.setPosixFilePermissions(abs, DIR);
    }
    return abs;
  }

  /** Writes a secret (mode 0600) atomically. */
  public static void writeSecret(Path file, String text) throws IOException {
    write(file, text, SECRET);
  }

  /** Writes a public file (mode 0644) atomically. */
  public static void writePublic(Path file, String text) throws IOException {
    write(file, text, PUBLIC);
  }

  private static void write(Path file, String text, Set<PosixFilePermission> perms) throws IOException {
    Path dir = createPrivateDirectories(file.toAbsolutePath().getParent());
    Path tmp =
        POSIX
            ? Files.createTempFile(dir, ".tmp-", ".part", PosixFilePermissions.asFileAttribute(SECRET))
            : Files.createTempFile(dir, ".tmp-", ".part");
    try {
      Files.writeString(tmp, text, StandardCharsets.UTF_8);
      if (POSIX) {
        Files.setPosixFilePermissions(tmp, perms);
      }
      // the bytes reach the disk before the rename makes them the file, and the rename itself
      // before we return (review L3: an empty ca.key after a crash)
      try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
        ch.force(true);
      }
      try {
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
      }
      forceDirectory(dir);
    } finally {
      Files.deleteIfExists(tmp);
    }
  }

  /** Flushes a folder's entries (a rename) to disk where the platform allows opening folders. */
  private static void forceDirectory(Path dir) {
    try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
      ch.force(true);
    } catch (IOException | UnsupportedOperationException e) {
      // not supported here (e.g. Windows): the rename is still atomic
    }
  }

  /**
   * Refuses a secret file that others can read (like ssh does for private keys).
   *
   * @throws IOException naming the file and its mode
   */
  public static void checkPrivate(Path file) throws IOException {
    if (!POSIX) {
      return;
    }
    Set<PosixFilePermission> p = Files.getPosixFilePermissions(file);
    for (PosixFilePermission bad :
        new PosixFilePermission[] {
          PosixFilePermission.GROUP_READ, PosixFilePermission.OTHERS_READ,
          PosixFilePermission.GROUP_WRITE, PosixFilePermission.OTHERS_WRITE
        }) {
      if (p.contains(bad)) {
        throw new IOException(
            "permissions " + PosixFilePermissions.toString(p) + " for " + file
                + " are too open; a private key must not be accessible by others (chmod 600 it)");
      }
    }
  }
}
