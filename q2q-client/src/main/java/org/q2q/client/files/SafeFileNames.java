package org.q2q.client.files;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Set;

/**
 * Keeps received files inside the target folder and never overwrites one.
 *
 * <ul>
 *   <li>{@link #check} refuses (rather than silently rewrites) a name that is empty, {@code .} or
 *       {@code ..}, contains a path separator ({@code /} or {@code \}), a NUL or other control
 *       character, a drive colon, is a Windows reserved device name ({@code CON}, {@code NUL},
 *       {@code COM1}...), ends in a dot or space, or is too long: a well-behaved sender only
 *       sends a plain file name, so anything else is a bug or an attack, and the sender is told
 *       exactly why.
 *   <li>{@link #reserve} picks the final name: the sent name if free, else {@code "name (1).ext"},
 *       {@code "name (2).ext"}, ... It creates the file atomically ({@code CREATE_NEW}), so two
 *       transfers racing for one name cannot overwrite each other or an existing file.
 * </ul>
 */
public final class SafeFileNames {
  private static final Set<String> RESERVED = Set.of("con", "prn", "aux", "nul",
      "com1", "com2", "com3", "com4", "com5", "com6", "com7", "com8", "com9",
      "lpt1", "lpt2", "lpt3", "lpt4", "lpt5", "lpt6", "lpt7", "lpt8", "lpt9");

  private SafeFileNames() {}

  /**
   * Checks a file name received from a peer.
   *
   * @return null if acceptable, else why not (for the sender and the log)
   */
  public static String check(String name) {
    if (name.isEmpty()) {
      return "empty file name";
    }
    if (name.equals(".") || name.equals("..")) {
      return "file name '" + name + "' is not a file";
    }
    for (int i = 0; i < name.length(); i++) {
      char c = name.charAt(i);
      if (c == '/' || c == '\\') {
        return "file name '" + printable(name) + "' contains a path separator; only plain names are accepted";
      }
      if (c == 0) {
        return "file name contains a NUL character";
      }
      if (Character.isISOControl(c)) {
        return "file name '" + printable(name) + "' contains a control character";
      }
      if (c == ':') {
        return "file name '" + printable(name) + "' contains ':'";
      }
    }
    if (name.endsWith(".") || name.endsWith(" ")) {
      return "file name '" + name + "' ends with a dot or a space";
    }
    String base = name.contains(".") ? name.substring(0, name.indexOf('.')) : name;
    if (RESERVED.contains(base.toLowerCase(Locale.ROOT).trim())) {
      return "file name '" + name + "' is a reserved device name";
    }
    if (name.getBytes(java.nio.charset.StandardCharsets.UTF_8).length > FileTransfer.MAX_NAME_BYTES) {
      return "file name longer than " + FileTransfer.MAX_NAME_BYTES + " bytes";
    }
    return null;
  }

  /**
   * Atomically creates an empty file for {@code name} in {@code dir}: the name itself if free,
   * else the first free {@code "stem (n).ext"}.
   *
   * @throws IOException if the name is unsafe (message from {@link #check}) or no name is free
   */
  public static Path reserve(Path dir, String name) throws IOException {
    String why = check(name);
    if (why != null) {
      throw new IOException(why);
    }
    Path base = dir.toAbsolutePath().normalize();
    int dot = name.lastIndexOf('.');
    String stem = dot > 0 ? name.substring(0, dot) : name;
    String ext = dot > 0 ? name.substring(dot) : "";
    for (int n = 0; n < 10_000; n++) {
      String candidate = n == 0 ? name : stem + " (" + n + ")" + ext;
      Path p = base.resolve(candidate).normalize();
      if (!base.equals(p.getParent())) {
        throw new IOException("file name '" + name + "' would leave the target folder");
      }
      try {
        return Files.createFile(p);
      } catch (FileAlreadyExistsException taken) {
        // try the next number
      }
    }
    throw new IOException("no free name for '" + name + "' in " + dir);
  }

  private static String printable(String s) {
    StringBuilder b = new StringBuilder();
    for (char c : s.toCharArray()) {
      b.append(Character.isISOControl(c) ? '?' : c);
    }
    return b.toString();
  }
}
