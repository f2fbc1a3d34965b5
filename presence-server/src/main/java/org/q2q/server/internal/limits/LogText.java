package org.q2q.server.internal.limits;

/**
 * Remote text made safe for a log line (L6): control characters (newlines, ANSI escapes) and
 * Unicode format characters (bidi overrides) become '?', and it is cut at 200 characters, so a
 * remote party can neither forge log lines nor fill the disk with one message.
 */
public final class LogText {
  /** Characters of remote text kept in a log line. */
  public static final int MAX = 200;

  private LogText() {}

  /** {@code s} escaped and cut for logging ("null" for null). */
  public static String safe(String s) {
    if (s == null) {
      return "null";
    }
    StringBuilder b = new StringBuilder(Math.min(s.length(), MAX) + 3);
    for (int i = 0; i < s.length() && b.length() < MAX; i++) {
      char c = s.charAt(i);
      int type = Character.getType(c);
      b.append(Character.isISOControl(c) || type == Character.FORMAT ? '?' : c);
    }
    if (s.length() > MAX) {
      b.append("...");
    }
    return b.toString();
  }
}
