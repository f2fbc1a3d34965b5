package org.q2q.client.files;

/**
 * Makes text that came from the other side safe to print on a terminal: control characters (C0,
 * DEL, C1: escape sequences start with them), Unicode format characters (bidi overrides,
 * zero-width characters), line and paragraph separators and unpaired surrogates become {@code
 * \\uXXXX}, so a peer can neither move the cursor nor make one name look like another.
 */
public final class RemoteText {
  private RemoteText() {}

  /** {@code s} with every unsafe character escaped. */
  public static String printable(String s) {
    StringBuilder b = null;
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      boolean bad;
      if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
        bad = unsafe(Character.toCodePoint(c, s.charAt(i + 1)));
        if (!bad) {
          if (b != null) {
            b.append(c).append(s.charAt(i + 1));
          }
          i++;
          continue;
        }
      } else {
        bad = Character.isSurrogate(c) || unsafe(c);
      }
      if (bad && b == null) {
        b = new StringBuilder(s.length() + 16).append(s, 0, i);
      }
      if (b != null) {
        if (bad) {
          b.append(String.format("\\u%04X", (int) c));
        } else {
          b.append(c);
        }
      }
    }
    return b == null ? s : b.toString();
  }

  /** True for code points that must not reach a terminal or a file name as they are. */
  static boolean unsafe(int cp) {
    if (Character.isISOControl(cp)) {
      return true;
    }
    int type = Character.getType(cp);
    return type == Character.FORMAT || type == Character.LINE_SEPARATOR
        || type == Character.PARAGRAPH_SEPARATOR || type == Character.SURROGATE || isNonCharacter(cp);
  }

  private static boolean isNonCharacter(int cp) {
    return (cp & 0xFFFE) == 0xFFFE || (cp >= 0xFDD0 && cp <= 0xFDEF);
  }
}
