package org.q2q.client.files;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.SecureRandom;
import java.text.Normalizer;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Set;

/**
 * Keeps received files inside the target folder, under names that cannot trick anyone, and never
 * overwrites one unless asked.
 *
 * <ul>
 *   <li>{@link #checkPath} refuses (rather than silently rewrites) a relative path with an empty,
 *       {@code .} or {@code ..} component, a backslash, a colon, a control, format (bidi,
 *       zero-width), line-separator or non-character code point, a component that starts with a
 *       dot (unless hidden files are allowed) or a dash, ends in a dot or space or is a Windows
 *       device name, a path that is not NFC-normalized, longer than {@value
 *       FileTransfer#MAX_PATH_BYTES} bytes, deeper than {@value FileTransfer#MAX_DEPTH} or with a
 *       component longer than {@value FileTransfer#MAX_NAME_BYTES} bytes, and the receiver's own
 *       state folder {@value #STATE_FOLDER}. A well-behaved sender sends nothing of the sort, so
 *       anything else is a bug or an attack, and the sender is told exactly why.
 *   <li>{@link #placeWithoutReplacing} moves a finished file to its final name with {@code
 *       link(2)}, which fails rather than replaces: the name itself if free, else {@code "name
 *       (1).ext"} ... {@code "name (9).ext"}, then a few random suffixes (bounded probes).
 * </ul>
 */
public final class SafeFileNames {
  /** The receiver's own folder in DIR for resume state; never a name a sender may use. */
  public static final String STATE_FOLDER = ".q2q-partial";
  /** Numbered names tried before random ones. */
  static final int NUMBERED_PROBES = 9;
  /** Random names tried after the numbered ones. */
  static final int RANDOM_PROBES = 8;

  private static final Set<String> RESERVED = Set.of("con", "prn", "aux", "nul",
      "com1", "com2", "com3", "com4", "com5", "com6", "com7", "com8", "com9",
      "lpt1", "lpt2", "lpt3", "lpt4", "lpt5", "lpt6", "lpt7", "lpt8", "lpt9");
  private static final SecureRandom RANDOM = new SecureRandom();

  private SafeFileNames() {}

  /**
   * Checks a relative path received from a peer.
   *
   * @return null if acceptable, else why not (printable: the name is escaped with {@link RemoteText})
   */
  public static String checkPath(String path, boolean allowHidden) {
    String shown = "'" + RemoteText.printable(path) + "'";
    if (path.isEmpty()) {
      return "empty path";
    }
    if (path.getBytes(StandardCharsets.UTF_8).length > FileTransfer.MAX_PATH_BYTES) {
      return "path longer than " + FileTransfer.MAX_PATH_BYTES + " bytes";
    }
    if (path.startsWith("/")) {
      return "absolute path " + shown + "; only relative paths are accepted";
    }
    if (!Normalizer.isNormalized(path, Normalizer.Form.NFC)) {
      return "path " + shown + " is not in Unicode normal form C";
    }
    String[] parts = path.split("/", -1);
    if (parts.length > FileTransfer.MAX_DEPTH) {
      return "path " + shown + " is deeper than " + FileTransfer.MAX_DEPTH + " folders";
    }
    if (parts[0].equals(STATE_FOLDER)) {
      return "path " + shown + " is in the receiver's own state folder";
    }
    for (String part : parts) {
      String why = checkName(part, allowHidden);
      if (why != null) {
        return (parts.length == 1 ? "" : "in " + shown + ": ") + why;
      }
    }
    return null;
  }

  /** Checks one path component; null if acceptable, else why not. */
  public static String checkName(String name, boolean allowHidden) {
    String shown = "'" + RemoteText.printable(name) + "'";
    if (name.isEmpty()) {
      return "empty file name (or '//' in a path)";
    }
    if (name.equals(".") || name.equals("..")) {
      return "file name '" + name + "' is not a file";
    }
    for (int i = 0; i < name.length(); ) {
      int cp = name.codePointAt(i);
      if (cp == '\\') {
        return "file name " + shown + " contains a backslash";
      }
      if (cp == ':') {
        return "file name " + shown + " contains ':'";
      }
      if (cp == 0) {
        return "file name contains a NUL character";
      }
      if (Character.isISOControl(cp)) {
        return "file name " + shown + " contains a control character";
      }
      if (RemoteText.unsafe(cp)) {
        return "file name " + shown + " contains an invisible or direction-changing character (U+"
            + String.format(Locale.ROOT, "%04X", cp) + ")";
      }
      i += Character.charCount(cp);
    }
    if (name.getBytes(StandardCharsets.UTF_8).length > FileTransfer.MAX_NAME_BYTES) {
      return "file name longer than " + FileTransfer.MAX_NAME_BYTES + " bytes";
    }
    if (name.startsWith(".") && !allowHidden) {
      return "file name " + shown + " is hidden (starts with a dot); the receiver accepts those only with --allow-hidden";
    }
    if (name.startsWith("-")) {
      return "file name " + shown + " starts with '-' (it would read as an option)";
    }
    if (name.endsWith(".") || name.endsWith(" ")) {
      return "file name " + shown + " ends with a dot or a space";
    }
    String base = name.contains(".") ? name.substring(0, name.indexOf('.')) : name;
    if (RESERVED.contains(base.toLowerCase(Locale.ROOT).trim())) {
      return "file name " + shown + " is a reserved device name";
    }
    return null;
  }

  /**
   * {@code dir} resolved with a checked relative path, or why it cannot be: the platform may not be
   * able to represent the name (e.g. non-ASCII under a C locale).
   */
  static Path resolve(Path dir, String path) throws IOException {
    try {
      Path p = dir;
      for (String part : path.split("/")) {
        p = p.resolve(part);
      }
      if (!p.normalize().startsWith(dir)) {
        throw new IOException("path '" + RemoteText.printable(path) + "' would leave the target folder");
      }
      return p;
    } catch (InvalidPathException e) {
      throw new IOException("path '" + RemoteText.printable(path) + "' cannot be stored on this system ("
          + e.getReason() + ")");
    }
  }

  /**
   * Creates the folders of {@code rel} under {@code dir} one by one, refusing to pass through
   * anything that is not a real folder (a symbolic link placed in DIR could lead elsewhere).
   */
  static Path createFolders(Path dir, String rel) throws IOException {
    Path p = dir;
    for (String part : rel.split("/")) {
      p = p.resolve(part);
      if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
        continue;
      }
      if (Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
        throw new IOException("'" + RemoteText.printable(dir.relativize(p).toString())
            + "' exists and is not a folder");
      }
      try {
        Files.createDirectory(p);
      } catch (FileAlreadyExistsException raced) {
        if (!Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
          throw raced;
        }
      }
    }
    return p;
  }

  /**
   * Gives the finished file {@code tmp} its final name in {@code folder}, never replacing anything:
   * {@code name}, else {@code "stem (1).ext"} ... {@code "stem (9).ext"}, else {@code "stem
   * (random).ext"} (a bounded number of tries). Uses a hard link, which fails if the name exists,
   * then removes {@code tmp}; on a file system without hard links it falls back to checking then
   * renaming (a small race).
   *
   * @return the final path
   */
  static Path placeWithoutReplacing(Path tmp, Path folder, String name) throws IOException {
    int dot = name.lastIndexOf('.');
    String stem = dot > 0 ? name.substring(0, dot) : name;
    String ext = dot > 0 ? name.substring(dot) : "";
    for (int n = 0; n <= NUMBERED_PROBES + RANDOM_PROBES; n++) {
      String candidate = n == 0 ? name
          : fit(stem, " (" + (n <= NUMBERED_PROBES ? String.valueOf(n) : randomHex()) + ")" + ext);
      Path target = folder.resolve(candidate);
      try {
        Files.createLink(target, tmp);
      } catch (FileAlreadyExistsException taken) {
        continue;
      } catch (UnsupportedOperationException | FileSystemException noLinks) {
        if (noLinks instanceof FileSystemException fse && Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
          continue;
        }
        try {
          Files.move(tmp, target); // no REPLACE_EXISTING: fails if the name appeared meanwhile
          return target;
        } catch (FileAlreadyExistsException taken) {
          continue;
        }
      }
      Files.delete(tmp);
      return target;
    }
    throw new IOException("no free name for '" + RemoteText.printable(name) + "' after "
        + (NUMBERED_PROBES + RANDOM_PROBES + 1) + " tries");
  }

  /** Replaces {@code name} in {@code folder} with {@code tmp} (--overwrite): one atomic rename. */
  static Path placeReplacing(Path tmp, Path folder, String name) throws IOException {
    Path target = folder.resolve(name);
    if (Files.isDirectory(target, LinkOption.NOFOLLOW_LINKS)) {
      throw new IOException("'" + RemoteText.printable(name) + "' exists and is a folder");
    }
    return Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
  }

  /** {@code stem + suffix}, the stem cut on a code-point boundary so the whole fits a name. */
  private static String fit(String stem, String suffix) {
    int room = FileTransfer.MAX_NAME_BYTES - suffix.getBytes(StandardCharsets.UTF_8).length;
    byte[] s = FileTransfer.truncateUtf8(stem, Math.max(room, 1));
    return new String(s, StandardCharsets.UTF_8) + suffix;
  }

  private static String randomHex() {
    byte[] r = new byte[4];
    RANDOM.nextBytes(r);
    return HexFormat.of().formatHex(r);
  }
}
