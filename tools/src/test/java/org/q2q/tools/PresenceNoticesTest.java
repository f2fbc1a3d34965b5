package org.q2q.tools;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;
import org.q2q.client.PresenceListener;
import org.q2q.client.PresenceState;

/** A listening command says once that it lost its server, and says when it is listening again. */
class PresenceNoticesTest {
  @Test
  void lostOnceThenListeningAgain() {
    StringWriter w = new StringWriter();
    PresenceListener n = PresenceNotices.to(new PrintWriter(w));
    n.presenceChanged(PresenceState.CONNECTING, "");
    n.presenceChanged(PresenceState.ONLINE, "");
    assertThat(w.toString()).isEmpty(); // the first connection is the command's own ready line
    n.presenceChanged(PresenceState.RECONNECTING, "UNAVAILABLE: the server is shutting down");
    n.presenceChanged(PresenceState.RECONNECTING, "UNAVAILABLE: io exception");
    n.presenceChanged(PresenceState.ONLINE, "");
    assertThat(w.toString().lines()).containsExactly(
        "q2q: lost the presence server (UNAVAILABLE: the server is shutting down); reconnecting...",
        "q2q: the presence server is back; listening again");
  }
}
