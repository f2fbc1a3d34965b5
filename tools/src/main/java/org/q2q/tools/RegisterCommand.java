package org.q2q.tools;

import java.io.PrintWriter;
import java.util.concurrent.Callable;
import org.q2q.certstore.Address;
import org.q2q.certstore.ClientHome;
import org.q2q.certstore.Fingerprint;
import org.q2q.client.Registrar;
import org.q2q.client.ServerAddress;
import org.q2q.tools.ExitCodes.UsageException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code q2q register ADDRESS}: get a certificate for an address with its password. */
@Command(
    name = "register",
    mixinStandardHelpOptions = true,
    description = {
      "Get a certificate for an address, with its password.",
      "The key pair is made here and never sent; the domain's CA is pinned on first use (or checked against --ca-fingerprint). With open registration, the first register of an address creates it; registering again (say from another machine) with the right password gives that machine its own key and certificate."
    })
final class RegisterCommand implements Callable<Integer> {
  @Spec private CommandSpec spec;
  @Mixin private VerboseMixin verbose;
  @Mixin private ServerOption server;

  @Parameters(paramLabel = "ADDRESS", description = "The address to register, e.g. alice@example.com.")
  String address;

  @Option(names = "--password-stdin", description = "Read the password from the first line of standard input.")
  boolean passwordStdin;

  @Option(names = "--ca-fingerprint", paramLabel = "SHA256",
      description = "The domain CA's fingerprint, checked out of band (see q2q identify); refuse any other CA.")
  String caFingerprint;

  @Override
  public Integer call() throws Exception {
    CliEnvironment env = Main.of(spec).environment();
    Address a = Address.parse(address);
    if (a.isDomain()) {
      throw new UsageException("'" + a + "' is a domain; register a user address such as alice@" + a);
    }
    Fingerprint expected = null;
    if (caFingerprint != null) {
      try {
        expected = Fingerprint.parse(caFingerprint);
      } catch (IllegalArgumentException e) {
        throw new UsageException("--ca-fingerprint: " + e.getMessage());
      }
    }
    ClientHome home = env.home();
    ServerAddress where = server.locate(a, home, env.env());
    String password = Passwords.read(env, passwordStdin, "Password for " + a + ": ", false);

    Registrar.Registration r = new Registrar().register(a, password, where, expected, home);

    PrintWriter out = spec.commandLine().getOut();
    out.println("registered " + a + " at " + r.server());
    out.println("  CA of " + a.domain() + ": " + r.caFingerprint()
        + (r.newlyPinned() ? " (newly pinned)" : " (already pinned)"));
    out.println("  identity stored in " + r.storedAt());
    out.println("  certificate valid until " + r.identity().notAfter());
    out.flush();
    return ExitCodes.OK;
  }
}
