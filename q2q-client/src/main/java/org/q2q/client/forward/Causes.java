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
   * Where a peer's channel comes from, for the per-connection line: the peer's transport address
   * for a direct session ("from 10.0.0.5:41234"), else the transport's own description ("via
   * relay:host:port"). Read off the session's transport channel, the parent of the channel.
   */
  static String from(io.netty.channel.Channel virtualChannel) {
    io.netty.channel.Channel transport = virtualChannel.parent();
    Object remote = transport == null ? null : transport.remoteAddress();
    if (remote instanceof java.net.InetSocketAddress a) {
      return "from " + new HostPort(a.getAddress() != null ? a.getAddress().getHostAddress() : a.getHostString(),
          a.getPort());
    }
    return "via " + remote;
  }
}
