package org.q2q.tools;

import java.io.PrintWriter;
import java.net.InetAddress;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.q2q.server.PresenceServer;
import org.q2q.server.presence.DomainServerLocator;
import org.q2q.server.presence.ListenLimits;
import org.q2q.server.presence.PresenceConfig;
import org.q2q.server.presence.RelayCaps;
import org.q2q.server.RegistrationMode;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code q2q server}: run a domain's presence server until SIGTERM/SIGINT. */
@Command(
    name = "server",
    mixinStandardHelpOptions = true,
    description = {
      "Run the presence server of a domain.",
      "It is the domain's certificate authority, keeps its accounts, and serves gRPC over TLS. It runs until Ctrl-C / SIGTERM, then stops gracefully."
    },
    subcommands = {AddUserCommand.class, RevokeCommand.class, ServerPasswdCommand.class, FederationCommand.class})
final class ServerCommand implements Callable<Integer> {
  @Spec private CommandSpec spec;
  @Mixin private VerboseMixin verbose;

  @Option(names = "--domain", paramLabel = "DOMAIN", defaultValue = "localhost",
      description = "The domain this server speaks for (default: ${DEFAULT-VALUE}).")
  String domain;

  @Option(names = "--data", paramLabel = "DIR", defaultValue = "q2q-data",
      description = "Data folder: the CA key and the account database (default: ./${DEFAULT-VALUE}).")
  Path data;

  @Option(names = "--port", paramLabel = "PORT", defaultValue = "8788",
      description = "TCP port to listen on (default: ${DEFAULT-VALUE}; 0 picks a free one).")
  int port;

  @Option(names = "--relay-port", paramLabel = "PORT",
      description = "TCP port of the relay socket (default: the port + 1, or a free one if that is taken; "
          + "0 picks a free one; -1: none, relays go through gRPC). Clients learn it from the server.")
  Integer relayPort;

  @Option(names = "--bind", paramLabel = "HOST", description = "Interface to listen on (default: all).")
  String bind;

  @Option(names = "--registration", paramLabel = "open|closed", defaultValue = "open",
      description = "open: the first register of an address creates it; closed: only 'q2q server adduser' does (default: ${DEFAULT-VALUE}).")
  RegistrationMode registration;

  @Option(names = "--max-listeners", paramLabel = "N",
      description = "Listen sessions (listening clients) the server holds at once; more are refused "
          + "(default: " + ListenLimits.DEFAULT_MAX_SESSIONS + ").")
  Integer maxListeners;

  @Option(names = "--max-relays", paramLabel = "N",
      description = "Relayed connections the server holds at once (each two sockets: up to about 30 KiB of memory and "
          + "two file descriptors); more are refused (default: " + RelayCaps.DEFAULT_MAX_PAIRS + ").")
  Integer maxRelays;

  @Option(names = "--metrics", paramLabel = "HOST:PORT",
      description = "Serve metrics in the Prometheus text format at http://HOST:PORT/metrics (plain HTTP; "
          + "default: off). Bind it where only your monitoring reaches it, e.g. 127.0.0.1:9788. The gRPC port "
          + "always answers the standard gRPC health checks and server reflection.")
  String metrics;

  @Mixin DatabaseOptions database;

  @Option(names = "--advertise", paramLabel = "HOST",
      description = "With a PostgreSQL --database this server is one node of the domain's fleet: the host the "
          + "other nodes and clients reach it at (default: --bind, else this machine's address).")
  String advertise;

  /** The presence settings the options give: federation from Q2Q_SERVERS, the relay cap. */
  PresenceConfig presenceConfig() {
    if (maxRelays != null && maxRelays < 1) {
      throw new CommandLine.ParameterException(spec.commandLine(), "--max-relays must be at least 1");
    }
    // other domains' servers, for learning their CAs (federation): as clients find them
    PresenceConfig presence = PresenceConfig.defaults().withFederation(
        DomainServerLocator.fromServersVariable(Main.of(spec).environment().env().get("Q2Q_SERVERS")));
    if (maxRelays != null) {
      presence = presence.withRelayCaps(presence.relayCaps().withMaxPairs(maxRelays));
    }
    return presence;
  }

  @Override
  public Integer call() throws Exception {
    PresenceConfig presence = presenceConfig();
    PresenceServer.Builder builder =
        PresenceServer.builder()
            .domain(domain)
            .dataDir(data)
            .port(port)
            .bindHost(bind)
            .registration(registration)
            .presence(presence);
    builder.database(database.location(data, Main.of(spec).environment().env()));
    builder.advertise(advertise);
    if (relayPort != null) {
      builder.relaySocketPort(relayPort);
    }
    if (maxListeners != null) {
      if (maxListeners < 1) {
        throw new CommandLine.ParameterException(spec.commandLine(), "--max-listeners must be at least 1");
      }
      ListenLimits d = ListenLimits.defaults();
      builder.listenLimits(d.withSessions(d.maxSessionsPerAddress(), maxListeners));
    }
    if (metrics != null) {
      String[] at = metricsAddress(metrics);
      try {
        builder.metrics(at[0], Integer.parseInt(at[1]));
      } catch (IllegalArgumentException e) {
        throw new CommandLine.ParameterException(spec.commandLine(), "--metrics " + metrics + ": " + e.getMessage());
      }
    }
    PresenceServer server = builder.build().start();
    CountDownLatch stopped = new CountDownLatch(1);
    Thread hook =
        new Thread(
            () -> {
              // stderr, not the logger: logging may already be shut down in a shutdown hook
              System.err.println("q2q: stopping the server...");
              server.close();
              System.err.println("q2q: server stopped");
              stopped.countDown();
            },
            "q2q-shutdown");
    Runtime.getRuntime().addShutdownHook(hook);

    PrintWriter out = spec.commandLine().getOut();
    String listen = (bind == null ? "all interfaces" : bind) + ", port " + server.port();
    String local = bind == null || InetAddress.getByName(bind).isAnyLocalAddress() ? "127.0.0.1" : bind;
    out.println("q2q presence server for " + server.domain() + " listening on " + listen + " (gRPC over TLS)"
        + (server.udpPort() == 0 ? "" : ", udp port " + server.udpPort() + " (STUN)")
        + (server.relaySocketPort() == 0 ? "" : ", relay tcp port " + server.relaySocketPort()));
    if (server.metricsPort() != 0) {
      String[] at = metricsAddress(metrics);
      String host = at[0].indexOf(':') >= 0 ? "[" + at[0] + "]" : at[0];
      out.println("  metrics on http://" + host + ":" + server.metricsPort() + "/metrics");
    }
    out.println("  CA fingerprint " + server.ca().fingerprint());
    out.println("  data in " + data.toAbsolutePath().normalize()
        + (server.database().sqliteFile().isPresent() ? "" : ", database " + server.database().location())
        + ", registration " + registration.name().toLowerCase(java.util.Locale.ROOT));
    out.println("  " + registrationNotice(registration, server.domain().domain(),
        bind != null && InetAddress.getByName(bind).isLoopbackAddress()));
    out.println("  register with: q2q register alice@" + server.domain() + " --server "
        + new org.q2q.client.ServerAddress(local, server.port()));
    out.println("Stop with Ctrl-C.");
    out.flush();

    server.awaitTermination();
    stopped.await();
    return ExitCodes.OK;
  }

  /**
   * Splits {@code HOST:PORT} or {@code [IPv6]:PORT} (port 0: any free one) into host and port.
   *
   * @throws CommandLine.ParameterException naming what is wrong
   */
  private String[] metricsAddress(String text) {
    int colon = text.lastIndexOf(':');
    String host = colon > 0 ? text.substring(0, colon) : "";
    String port = colon > 0 ? text.substring(colon + 1) : "";
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    } else if (host.indexOf(':') >= 0) {
      host = ""; // an IPv6 address without brackets
    }
    if (host.isEmpty() || !port.matches("\\d{1,5}")) {
      throw new CommandLine.ParameterException(spec.commandLine(),
          "--metrics " + text + ": expected HOST:PORT, e.g. 127.0.0.1:9788 or [::1]:9788");
    }
    return new String[] {host, port};
  }

  /** Says plainly who may create accounts (review L19: open registration on a public host). */
  static String registrationNotice(RegistrationMode mode, String domain, boolean loopbackOnly) {
    if (mode == RegistrationMode.CLOSED) {
      return "registration closed: accounts are added with 'q2q server adduser ADDRESS --data DIR'";
    }
    if (loopbackOnly) {
      return "registration OPEN to anyone on this machine: the first register of an address @" + domain + " creates it";
    }
    return "WARNING: registration is OPEN: anyone who can reach this port can create accounts @" + domain
        + "; on a public host run with --registration closed and add accounts with 'q2q server adduser'";
  }
}
