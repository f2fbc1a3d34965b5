package org.q2q.tools;

import java.io.PrintWriter;
import org.q2q.client.PresenceListener;
import org.q2q.client.PresenceState;

/**
 * What a listening command (receive, expose, gateway) tells its user about its presence server: one
 * line when the server is lost, and one when the command is listening again after that.
 */
final class PresenceNotices implements PresenceListener {
  private final PrintWriter err;
  private boolean lost; // listener calls come one at a time, in order

  private PresenceNotices(PrintWriter err) {
    this.err = err;
  }

  /** The notices, written to {@code err}. */
  static PresenceListener to(PrintWriter err) {
    return new PresenceNotices(err);
  }

  @Override
  public void presenceChanged(PresenceState state, String detail) {
    if (state == PresenceState.RECONNECTING && !lost) {
      lost = true;
      TunnelPrinter.print(err, "q2q: lost the presence server (" + detail + "); reconnecting...");
    } else if (state == PresenceState.ONLINE && lost) {
      lost = false;
      TunnelPrinter.print(err, "q2q: the presence server is back; listening again");
    }
  }
}
