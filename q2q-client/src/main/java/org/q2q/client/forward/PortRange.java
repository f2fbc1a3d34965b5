package org.q2q.client.forward;

/**
 * The ports a {@link Gateway} lets callers open: {@code FIRST-LAST} inclusive ({@code 20000-20100}),
 * {@code N-N} or {@code N} for one port. Immutable.
 *
 * @param first lowest port, 1..65535
 * @param last highest port, first..65535
 */
public record PortRange(int first, int last) {
  public PortRange {
    if (first < 1 || last > 65535 || first > last) {
      throw new IllegalArgumentException("port range " + first + "-" + last + " is not within 1..65535 in order");
    }
  }

  /**
   * Parses {@code FIRST-LAST} or {@code N}.
   *
   * @throws IllegalArgumentException naming what is wrong
   */
  public static PortRange parse(String text) {
    String[] parts = text.trim().split("-", -1);
    try {
      if (parts.length == 1) {
        int p = Integer.parseInt(parts[0]);
        return new PortRange(p, p);
      }
      if (parts.length == 2) {
        return new PortRange(Integer.parseInt(parts[0].trim()), Integer.parseInt(parts[1].trim()));
      }
    } catch (NumberFormatException e) {
      // fall through to the message below
    }
    throw new IllegalArgumentException("'" + text + "' is not a port range like 20000-20100");
  }

  /** True if {@code port} is in the range. */
  public boolean contains(int port) {
    return port >= first && port <= last;
  }

  @Override
  public String toString() {
    return first + "-" + last;
  }
}
