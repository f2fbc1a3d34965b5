package org.q2q.client.forward;

import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/** Small helpers for the failures the forwarding classes report. Stateless. */
final class Causes {
  private Causes() {}

  /** The cause of a failure, without CompletionException/ExecutionException wrappers. */
  static Throwable unwrap(Throwable t) {
    while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) {
      t = t.getCause();
    }
    return t;
  }

  /** A short reason for a failed TCP connect, e.g. "connection refused". */
  static String connectFailure(Throwable t) {
    if (t instanceof java.net.ConnectException) {
      String m = String.valueOf(t.getMessage());
      return m.toLowerCase(java.util.Locale.ROOT).contains("refused") ? "connection refused" : m;
    }
    if (t instanceof java.nio.channels.UnresolvedAddressException) {
      return "unknown host";
    }
    return String.valueOf(t.getMessage());
  }

  /**
   * Where a peer's channel comes from, for the per-connection line: "from 10.0.0.5:41234" over a
   * direct route (the peer's transport address), else the route ("relay through host:port").
   */
  static String from(org.q2q.client.VirtualChannel channel) {
    org.q2q.client.Route route = channel.route();
    return route.kind().direct() ? "from " + route.via() : route.toString();
  }
}
