package org.q2q.certstore;

/** An address that cannot be parsed; the message names the input and what is wrong with it. */
public final class AddressFormatException extends IllegalArgumentException {
  private static final long serialVersionUID = 1L;

  private final String reason;

  AddressFormatException(String input, String reason) {
    super("invalid address '" + printable(input) + "': " + reason);
    this.reason = reason;
  }

  /** What is wrong, without the input. */
  public String reason() {
    return reason;
  }

  private static String printable(String s) {
    StringBuilder b = new StringBuilder();
    for (char c : s.toCharArray()) {
      if (Character.isISOControl(c)) {
        b.append(String.format("\\u%04x", (int) c));
      } else {
        b.append(c);
      }
    }
    return b.toString();
  }
}
