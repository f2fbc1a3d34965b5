package org.q2q.tools;

import java.io.PrintWriter;
import org.q2q.client.forward.ConnectionRecord;
import org.q2q.client.forward.TunnelEvents;

/**
 * The lines {@code q2q expose}, {@code forward} and {@code gateway} print as connections come and
 * go: one per finished connection on stdout (who, from where, bytes each way, duration), failures
 * and refusals on stderr (reaching the connection limit is the library's warning, already on
 * stderr). Safe for concurrent use.
 */
final class TunnelPrinter implements TunnelEvents {
  private final PrintWriter out;
  private final PrintWriter err;

  TunnelPrinter(PrintWriter out, PrintWriter err) {
    this.out = out;
    this.err = err;
  }

  @Override
  public void closed(ConnectionRecord r) {
    print(out, "connection " + r.id() + ": " + r.peer() + " " + from(r.from()) + ", "
        + ByteSizes.format(r.sent()) + " sent, " + ByteSizes.format(r.received()) + " received in "
        + ByteSizes.seconds(r.duration()) + (r.clean() ? "" : " (" + r.outcome() + ")"));
  }

  @Override
  public void failed(String id, String peer, String from, String reason) {
    print(err, "q2q: connection " + id + " (" + peer + " " + from(from) + ") closed: " + reason);
  }

  @Override
  public void refused(String peer, String reason) {
    print(err, "q2q: refused " + peer + ": " + reason);
  }

  @Override
  public void portOpened(String caller, String bound) {
    print(out, "opened " + bound + " for " + caller);
  }

  @Override
  public void portClosed(String caller, String bound, String why) {
    print(out, "closed " + bound + " of " + caller + ": " + why);
  }

  private static String from(String from) {
    return from.startsWith("via ") || from.startsWith("from ") ? from : "from " + from;
  }

  static void print(PrintWriter w, String line) {
    synchronized (w) {
      w.println(line);
      w.flush();
    }
  }
}
