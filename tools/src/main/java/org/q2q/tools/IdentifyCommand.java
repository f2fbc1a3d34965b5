package org.q2q.tools;

import java.io.PrintWriter;
import java.util.concurrent.Callable;
import org.q2q.certstore.Address;
import org.q2q.certstore.ClientHome;
import org.q2q.client.Registrar;
import org.q2q.client.ServerAddress;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code q2q identify ADDRESS|DOMAIN}: a domain's CA fingerprint, to check a pin out of band. */
@Command(
    name = "identify",
    mixinStandardHelpOptions = true,
    description = {
      "Show a domain's CA fingerprint, to check a pin out of band.",
      "Asks the domain's presence server and compares with the CA pinned in $Q2Q_HOME; compare it with the fingerprint the server printed when it started."
    })
final class IdentifyCommand implements Callable<Integer> {
  @Spec private CommandSpec spec;
  @Mixin private VerboseMixin verbose;
  @Mixin private ServerOption server;

  @Parameters(paramLabel = "ADDRESS|DOMAIN", description = "A domain (example.com) or an address in it.")
  String subject;

  @Override
  public Integer call() throws Exception {
    CliEnvironment env = Main.of(spec).environment();
    Address a = Address.parse(subject);
    ClientHome home = env.home();
    java.util.List<ServerAddress> where = server.locate(a, home, env.env());
    Registrar.Identification id = new Registrar().identify(a, where, home);

    PrintWriter out = spec.commandLine().getOut();
    out.println(id.domain() + " CA " + id.fingerprint());
    out.println("  server " + ServerOption.describe(where));
    switch (id.pin()) {
      case NOT_PINNED -> out.println("  not pinned in " + home.root());
      case MATCHES -> out.println("  pinned in " + home.root() + ": the same");
      case DIFFERS -> {
        out.flush();
        throw new ExitCodes.CommandFailedException(ExitCodes.UNTRUSTED,
            "the CA of " + id.domain() + " pinned in " + home.root() + " is " + id.pinned()
                + " but the server presents " + id.fingerprint());
      }
    }
    out.flush();
    return ExitCodes.OK;
  }
}
