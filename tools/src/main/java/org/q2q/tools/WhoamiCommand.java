package org.q2q.tools;

import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.util.concurrent.Callable;
import org.q2q.certstore.ClientHome;
import org.q2q.certstore.Identity;
import org.q2q.client.Registrar;
import org.q2q.client.ServerAddress;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code q2q whoami}: the identity, its certificate, its server, and how the server sees us. */
@Command(
    name = "whoami",
    mixinStandardHelpOptions = true,
    description = {
      "Show an identity and how its server sees us.",
      "Prints the identity, its certificate's expiry, its server, and the address the server sees."
    })
final class WhoamiCommand implements Callable<Integer> {
  @Spec private CommandSpec spec;
  @Mixin private VerboseMixin verbose;
  @Mixin private IdentityOption identity;
  @Mixin private ServerOption server;

  @Override
  public Integer call() throws Exception {
    CliEnvironment env = Main.of(spec).environment();
    ClientHome home = env.home();
    Identity id = identity.resolve(home);
    java.util.List<ServerAddress> where = server.locate(id.address(), home, env.env());
    InetSocketAddress seen = new Registrar().whoAmI(id, where);

    PrintWriter out = spec.commandLine().getOut();
    out.println("identity     " + id.address());
    out.println("certificate  valid until " + id.notAfter() + " (CA " + org.q2q.certstore.Fingerprint.of(id.caCertificate()) + ")");
    out.println("server       " + ServerOption.describe(where));
    out.println("seen as      " + new ServerAddress(seen.getAddress().getHostAddress(), seen.getPort()));
    out.flush();
    return ExitCodes.OK;
  }
}
