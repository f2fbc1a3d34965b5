package org.q2q.client.files;

import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.FileVisitor;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The local side of an offer: the files and folders named on a command line, walked once for
 * their names, sizes and modes (no data is read), each entry with the local path it comes from.
 *
 * <ul>
 *   <li>A named file is sent under its own name; a named folder with everything in it, under the
 *       folder's name, folders before their contents, so empty folders arrive too.
 *   <li>Symbolic links inside a named folder are never followed (they could lead out of it): each
 *       is listed as a skipped entry, which both sides report. A named path that is itself a link
 *       is followed, as {@code cp} does with its arguments. Devices, sockets and pipes are skipped
 *       the same way.
 *   <li>Names are sent in Unicode normal form C (macOS stores NFD), which receivers require.
 * </ul>
 */
public final class FileSet {
  private final List<Offer.Entry> entries;
  private final List<Path> sources;

  private FileSet(List<Offer.Entry> entries, List<Path> sources) {
    this.entries = List.copyOf(entries);
    this.sources = List.copyOf(sources);
  }

  /**
   * Walks {@code paths}.
   *
   * @throws IOException naming the path that does not exist or cannot be read, two paths with the
   *     same name, or more than {@value FileTransfer#MAX_ENTRIES} entries
   */
  public static FileSet of(List<Path> paths) throws IOException {
    List<Offer.Entry> entries = new ArrayList<>();
    List<Path> sources = new ArrayList<>();
    Set<String> top = new HashSet<>();
    for (Path given : paths) {
      if (!Files.exists(given)) {
        throw new NoSuchFileException(given + " does not exist");
      }
      Path abs = given.toAbsolutePath().normalize();
      if (abs.getFileName() == null) {
        throw new IOException(given + " has no name to send it under (the root folder?)");
      }
      String name = nfc(abs.getFileName().toString());
      if (!top.add(name)) {
        throw new IOException("two paths named '" + name + "': send them separately");
      }
      if (Files.isRegularFile(given)) {
        if (!Files.isReadable(given)) {
          throw new IOException(given + " is not readable");
        }
        entries.add(Offer.Entry.file(name, Files.size(given), executable(given)));
        sources.add(given);
      } else if (Files.isDirectory(given)) {
        walk(given, name, entries, sources);
      } else {
        throw new IOException(given + " is neither a file nor a folder");
      }
      if (entries.size() > FileTransfer.MAX_ENTRIES) {
        throw new IOException("more than " + FileTransfer.MAX_ENTRIES + " files and folders in one transfer; send them in parts");
      }
    }
    return new FileSet(entries, sources);
  }

  private static void walk(Path root, String name, List<Offer.Entry> entries, List<Path> sources) throws IOException {
    Files.walkFileTree(root, EnumSet.noneOf(java.nio.file.FileVisitOption.class), FileTransfer.MAX_DEPTH - 1,
        new FileVisitor<Path>() {
          private String rel(Path p) {
            String r = root.relativize(p).toString().replace(p.getFileSystem().getSeparator(), "/");
            return nfc(r.isEmpty() ? name : name + "/" + r);
          }

          private void add(Offer.Entry e, Path source) throws IOException {
            entries.add(e);
            sources.add(source);
            if (entries.size() > FileTransfer.MAX_ENTRIES) {
              throw new IOException("more than " + FileTransfer.MAX_ENTRIES
                  + " files and folders in one transfer; send them in parts");
            }
          }

          @Override
          public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) throws IOException {
            if (attrs.isSymbolicLink()) { // the root was followed; anything below is not
              add(Offer.Entry.skipped(rel(dir)), dir);
              return FileVisitResult.SKIP_SUBTREE;
            }
            add(Offer.Entry.folder(rel(dir)), dir);
            return FileVisitResult.CONTINUE;
          }

          @Override
          public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
            if (attrs.isRegularFile()) {
              add(Offer.Entry.file(rel(file), attrs.size(), executable(file)), file);
            } else {
              add(Offer.Entry.skipped(rel(file)), file); // a link, device, socket or pipe, or too deep
            }
            return FileVisitResult.CONTINUE;
          }

          @Override
          public FileVisitResult visitFileFailed(Path file, IOException e) throws IOException {
            throw new IOException("cannot read " + file + ": " + e.getMessage(), e);
          }

          @Override
          public FileVisitResult postVisitDirectory(Path dir, IOException e) throws IOException {
            if (e != null) {
              throw new IOException("cannot read " + dir + ": " + e.getMessage(), e);
            }
            return FileVisitResult.CONTINUE;
          }
        });
  }

  private static boolean executable(Path p) {
    try {
      return Files.getPosixFilePermissions(p, LinkOption.NOFOLLOW_LINKS).contains(PosixFilePermission.OWNER_EXECUTE);
    } catch (IOException | UnsupportedOperationException e) {
      return false;
    }
  }

  private static String nfc(String s) {
    return Normalizer.normalize(s, Normalizer.Form.NFC);
  }

  /** The offer for these files. */
  public Offer offer() {
    return new Offer(entries);
  }

  /** The entries, in sending order. */
  public List<Offer.Entry> entries() {
    return entries;
  }

  /** Where entry {@code i} comes from. */
  Path source(int i) {
    return sources.get(i);
  }
}
