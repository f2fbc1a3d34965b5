package org.q2q.tools;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.Map;
import java.util.concurrent.Callable;
import org.q2q.certstore.Address;
import org.q2q.certstore.Fingerprint;
import org.q2q.server.DatabaseCaPins;
import org.q2q.server.ServerDatabase;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code q2q server federation list|forget}: the other domains' CAs a server has pinned (learned
 * on first use, in its database: shared by the nodes of a domain on PostgreSQL).
 */
@Command(
    name = "federation",
    mixinStandardHelpOptions = true,
    description = "List or forget the CAs of other domains this server has learned (pinned on first use).",
    subcommands = {FederationCommand.List.class, FederationCommand.Forget.class})
final class FederationCommand {
  private FederationCommand() {}

  /** The data folder and database of a server, as the other admin commands take them. */
  static final class Where {
    @Option(names = "--data", paramLabel = "DIR", defaultValue = "q2q-data",
        description = "The server's data folder (default: ./${DEFAULT-VALUE}).")
    Path data;

    @Mixin DatabaseOptions database;

    /** Runs {@code work} on the server's pins (files of an older version imported first). */
    <T> T withPins(CommandSpec spec, PinsWork<T> work) throws Exception {
      try (ServerDatabase db = ServerDatabase.open(database.location(data, Main.of(spec).environment().env()))) {
        return work.run(DatabaseCaPins.open(db, data, java.time.Clock.systemUTC()));
      }
    }
  }

  /** Work on the pins. */
  interface PinsWork<T> {
    T run(DatabaseCaPins pins) throws Exception;
  }

  /** {@code q2q server federation list}. */
  @Command(name = "list", mixinStandardHelpOptions = true, description = "List the pinned domains and CA fingerprints.")
  static final class List implements Callable<Integer> {
    @Spec private CommandSpec spec;
    @Mixin private VerboseMixin verbose;

    @Mixin Where where;

    @Override
    public Integer call() throws Exception {
      PrintWriter out = spec.commandLine().getOut();
      Map<String, X509Certificate> all = where.withPins(spec, DatabaseCaPins::all);
      if (all.isEmpty()) {
        out.println("no other domain's CA is pinned in " + where.data.toAbsolutePath().normalize());
      }
      all.forEach((domain, ca) -> out.println(domain + "  " + Fingerprint.of(ca) + "  until "
          + ca.getNotAfter().toInstant()));
      out.flush();
      return ExitCodes.OK;
    }
  }

  /** {@code q2q server federation forget DOMAIN}. */
  @Command(name = "forget", mixinStandardHelpOptions = true,
      description = {"Forget the pinned CA of a domain: its CA is learned again at the next contact.",
        "A running server keeps the CA it has in memory until it restarts."})
  static final class Forget implements Callable<Integer> {
    @Spec private CommandSpec spec;
    @Mixin private VerboseMixin verbose;

    @Parameters(paramLabel = "DOMAIN", description = "The domain, e.g. example.org.")
    String domain;

    @Mixin Where where;

    @Override
    public Integer call() throws Exception {
      String d = Address.ofDomain(domain).domain();
      if (!where.withPins(spec, pins -> pins.forget(d))) {
        throw new ExitCodes.CommandFailedException(ExitCodes.FAILURE, "no CA is pinned for " + d);
      }
      PrintWriter out = spec.commandLine().getOut();
      out.println("forgot the CA of " + d + " (a running server forgets it when it restarts)");
      out.flush();
      return ExitCodes.OK;
    }
  }
}
