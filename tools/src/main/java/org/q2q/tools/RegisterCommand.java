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
      "The key pair is made here and never sent. The first time a domain is seen, its CA's fingerprint is shown and you are asked whether to trust it before the password is sent (check it with the server's administrator, or 'q2q identify'); scripts pass --ca-fingerprint, or --yes to trust it on first use. With open registration, the first register of an address creates it; registering again (say from another machine) with the right password gives that machine its own key and certificate; registering again on the same machine renews its certificate.",
      "Lost a device or leaked the password? Register with --revoke-others (and --change-password): every other certificate of the address stops working."
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

  @Option(names = {"-y", "--yes"},
      description = "Trust the domain's CA on first use without asking (for scripts; prefer --ca-fingerprint).")
  boolean yes;

  @Option(names = "--revoke-others",
      description = "Revoke every other certificate of this address (other devices, a stolen laptop): only this machine's stays valid.")
  boolean revokeOthers;

  @Option(names = "--new-key",
      description = "Make a new key pair even if this machine has one for the address (say its key may have been copied); by default registering again keeps the key and renews its certificate. Add --revoke-others to revoke the old key's certificate too.")
  boolean newKey;

  @Option(names = "--change-password",
      description = "Set a new password for the account (asked for, or the second line of standard input with --password-stdin).")
  boolean changePassword;

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
    java.util.List<ServerAddress> where = server.locate(a, home, env.env());
    Passwords.requireSource(env, passwordStdin);
    Registrar registrar = new Registrar();
    if (expected == null) {
      expected = confirmNewCa(env, registrar.identify(a, where, home), where);
    }
    String[] passwords = changePassword
        ? Passwords.readWithNew(env, passwordStdin, a)
        : new String[] {Passwords.read(env, passwordStdin, "Password for " + a + ": ", false), null};

    Registrar.Registration r = registrar.register(a, passwords[0], where, expected, home,
        new Registrar.Options(revokeOthers, passwords[1], newKey));

    PrintWriter out = spec.commandLine().getOut();
    out.println("registered " + a + " at " + r.server());
    out.println("  CA of " + a.domain() + ": " + r.caFingerprint()
        + (r.newlyPinned() ? " (newly pinned)" : " (already pinned)"));
    if (changePassword) {
      out.println("  password changed");
    }
    if (revokeOthers) {
      out.println("  revoked " + r.revoked() + " other certificate(s) of " + a);
    }
    out.println("  identity stored in " + r.storedAt());
    out.println("  certificate valid until " + r.identity().notAfter());
    out.flush();
    return ExitCodes.OK;
  }

  /**
   * Trust on first use, deliberately (review M4): a CA not pinned yet is shown and must be accepted
   * (terminal) or accepted up front ({@code --yes}) before the password goes to its server.
   *
   * @return the fingerprint to hold the registration to (the one shown), or null when the domain's
   *     CA is already pinned (the registration then checks against the pin)
   */
  private Fingerprint confirmNewCa(CliEnvironment env, Registrar.Identification id, java.util.List<ServerAddress> servers) {
    if (id.pin() != Registrar.PinStatus.NOT_PINNED) {
      return null; // pinned: the registration checks it (and refuses a changed CA)
    }
    if (yes) {
      return id.fingerprint();
    }
    if (env.terminal() == null) {
      throw new UsageException("the CA of " + id.domain() + " is not pinned yet and there is no terminal to confirm it: "
          + "the server at " + ServerOption.describe(servers) + " presents " + id.fingerprint() + ". Check it with the server's administrator and"
          + " pass --ca-fingerprint " + id.fingerprint() + ", or pass --yes to trust it on first use");
    }
    PrintWriter err = spec.commandLine().getErr();
    err.println("The server at " + ServerOption.describe(servers) + " presents this CA for " + id.domain() + ":");
    err.println("  " + id.fingerprint());
    err.println("It is not pinned yet. Check it with the server's administrator ('q2q server' prints it when it starts).");
    err.flush();
    char[] answer = env.terminal().readLine("Trust it and send your password to this server? [y/N] ");
    String a = answer == null ? "" : new String(answer).trim();
    if (!a.equalsIgnoreCase("y") && !a.equalsIgnoreCase("yes")) {
      throw new ExitCodes.CommandFailedException(ExitCodes.UNTRUSTED,
          "not registered: the CA " + id.fingerprint() + " of " + id.domain() + " was not trusted");
    }
    return id.fingerprint();
  }
}
