package org.q2q.tools;

import java.io.IOException;
import org.q2q.certstore.ClientHome;
import org.q2q.certstore.Identity;
import org.q2q.client.Q2qClient;

/**
 * The client the tunnel commands run on, and its clean end: a shutdown hook closes it on Ctrl-C or
 * SIGTERM so that peers (a gateway closing our port) learn at once, not after a heartbeat timeout.
 */
final class TunnelClients {
  private TunnelClients() {}

  /**
   * The {@code --allow} list of a listening tunnel command (default: {@code self}'s domain).
   *
   * @throws ExitCodes.UsageException naming the bad entry
   */
  static org.q2q.client.forward.AllowList allowList(java.util.List<String> allow, org.q2q.certstore.Address self)
      throws ExitCodes.UsageException {
    try {
      return org.q2q.client.forward.AllowList.parse(allow, self);
    } catch (IllegalArgumentException e) {
      throw new ExitCodes.UsageException("--allow: " + e.getMessage());
    }
  }

  /** A client for {@code id} connecting by any route, reporting presence losses on stderr. */
  static Q2qClient build(CliEnvironment env, ClientHome home, Identity id, ServerOption server,
      java.io.PrintWriter err) throws IOException {
    return build(env, home, id, server, err, org.q2q.client.Transport.AUTO);
  }

  /** A client for {@code id} whose connects take the routes {@code transport} allows. */
  static Q2qClient build(CliEnvironment env, ClientHome home, Identity id, ServerOption server,
      java.io.PrintWriter err, org.q2q.client.Transport transport) throws IOException {
    Q2qClient.Builder b = Q2qClient.builder(home, id).environment(env.env()).transport(transport);
    if (server.given() != null) {
      b.server(server.given());
    }
    Q2qClient client = b.build();
    client.addPresenceListener(PresenceNotices.to(err));
    return client;
  }

  /** Closes {@code client} when the JVM is asked to stop; {@link Thread} to remove when done. */
  static Thread closeOnExit(Q2qClient client) {
    Thread hook = new Thread(client::close, "q2q-close");
    Runtime.getRuntime().addShutdownHook(hook);
    return hook;
  }

  /** Undoes {@link #closeOnExit} (the command ended normally; in-process runs must not pile up hooks). */
  static void removeHook(Thread hook) {
    try {
      Runtime.getRuntime().removeShutdownHook(hook);
    } catch (IllegalStateException e) {
      // already shutting down
    }
  }
}
