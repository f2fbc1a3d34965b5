package org.q2q.tools;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.Map;
import java.util.concurrent.Callable;
import org.q2q.certstore.Address;
import org.q2q.certstore.CaPinStore;
import org.q2q.certstore.Fingerprint;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code q2q server federation list|forget}: the other domains' CAs a server has pinned (learned
 * on first use, in {@code <data>/federation-cas}).
 */
@Command(
    name = "federation",
    mixinStandardHelpOptions = true,
    description = "List or forget the CAs of other domains this server has learned (pinned on first use).",
    subcommands = {FederationCommand.List.class, FederationCommand.Forget.class})
final class FederationCommand {
  private FederationCommand() {}

  private static CaPinStore pins(Path data) {
    return new CaPinStore(data.resolve("federation-cas"));
  }

  /** {@code q2q server federation list}. */
  @Command(name = "list", mixinStandardHelpOptions = true, description = "List the pinned domains and CA fingerprints.")
  static final class List implements Callable<Integer> {
    @Spec private CommandSpec spec;
    @Mixin private VerboseMixin verbose;

    @Option(names = "--data", paramLabel = "DIR", defaultValue = "q2q-data",
        description = "The server's data folder (default: ./${DEFAULT-VALUE}).")
    Path data;

    @Override
    public Integer call() throws Exception {
      PrintWriter out = spec.commandLine().getOut();
      Map<String, X509Certificate> all = pins(data).all();
      if (all.isEmpty()) {
        out.println("no other domain's CA is pinned in " + data.toAbsolutePath().normalize());
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

    @Option(names = "--data", paramLabel = "DIR", defaultValue = "q2q-data",
        description = "The server's data folder (default: ./${DEFAULT-VALUE}).")
    Path data;

    @Override
    public Integer call() throws Exception {
      String d = Address.ofDomain(domain).domain();
      if (!pins(data).forget(d)) {
        throw new ExitCodes.CommandFailedException(ExitCodes.FAILURE, "no CA is pinned for " + d);
      }
      PrintWriter out = spec.commandLine().getOut();
      out.println("forgot the CA of " + d + " (a running server forgets it when it restarts)");
      out.flush();
      return ExitCodes.OK;
    }
  }
}
