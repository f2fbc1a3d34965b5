package org.q2q.tools;

import java.io.PrintWriter;
import java.security.cert.X509Certificate;
import java.util.Map;
import java.util.concurrent.Callable;
import org.q2q.certstore.Address;
import org.q2q.certstore.CaPinStore;
import org.q2q.certstore.ClientHome;
import org.q2q.certstore.Fingerprint;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code q2q known-cas list|forget DOMAIN}: the domain CAs this client has pinned. */
@Command(
    name = "known-cas",
    mixinStandardHelpOptions = true,
    description = {
      "List or forget the domain CAs this client trusts (like SSH's known_hosts).",
      "A CA is pinned by 'q2q register' (after you confirm it), and also when a peer of another domain first connects or is connected to: its CA is then learned from that domain's server on first use. A pinned CA that changes is refused; if a domain really changed its CA, forget it here and check the new one."
    },
    subcommands = {KnownCasCommand.List.class, KnownCasCommand.Forget.class})
final class KnownCasCommand implements Callable<Integer> {
  @Spec private CommandSpec spec;

  @Override
  public Integer call() {
    spec.commandLine().usage(spec.commandLine().getOut());
    return ExitCodes.USAGE;
  }

  /** {@code q2q known-cas list}. */
  @Command(name = "list", mixinStandardHelpOptions = true, description = "List the pinned domain CAs.")
  static final class List implements Callable<Integer> {
    @Spec private CommandSpec spec;
    @Mixin private VerboseMixin verbose;

    @Override
    public Integer call() throws Exception {
      ClientHome home = Main.of(spec).environment().home();
      Map<String, X509Certificate> all = home.pins().all();
      PrintWriter out = spec.commandLine().getOut();
      if (all.isEmpty()) {
        out.println("no CA pinned in " + home.root());
      }
      all.forEach((domain, ca) -> out.println(domain + "  " + Fingerprint.of(ca) + "  until " + ca.getNotAfter().toInstant()));
      out.flush();
      return ExitCodes.OK;
    }
  }

  /** {@code q2q known-cas forget DOMAIN}. */
  @Command(name = "forget", mixinStandardHelpOptions = true,
      description = "Forget the pinned CA of a domain; its next contact pins what its server presents then.")
  static final class Forget implements Callable<Integer> {
    @Spec private CommandSpec spec;
    @Mixin private VerboseMixin verbose;

    @Parameters(paramLabel = "DOMAIN", description = "The domain, e.g. example.com.")
    String domain;

    @Override
    public Integer call() throws Exception {
      ClientHome home = Main.of(spec).environment().home();
      Address d = Address.parse(domain).domainAddress();
      CaPinStore pins = home.pins();
      PrintWriter out = spec.commandLine().getOut();
      if (!pins.forget(d.domain())) {
        throw new ExitCodes.CommandFailedException(ExitCodes.FAILURE, "no CA is pinned for " + d + " in " + home.root());
      }
      out.println("forgot the CA of " + d);
      out.flush();
      return ExitCodes.OK;
    }
  }
}
