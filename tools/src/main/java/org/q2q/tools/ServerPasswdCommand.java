package org.q2q.tools;

import java.io.PrintWriter;
import java.util.concurrent.Callable;
import org.q2q.certstore.Address;
import org.q2q.certstore.PasswordHasher;
import org.q2q.server.AccountStore;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code q2q server passwd ADDRESS}: set an account's password in a server's data folder. */
@Command(
    name = "passwd",
    mixinStandardHelpOptions = true,
    description = {
      "Set a new password for an account (the administrator's reset; owners use 'q2q register --change-password').",
      "Works whether or not the server is running. Certificates already issued stay valid: revoke them with 'q2q server revoke' if the password leaked."
    })
final class ServerPasswdCommand implements Callable<Integer> {
  @Spec private CommandSpec spec;
  @Mixin private VerboseMixin verbose;

  @Mixin AccountInDataFolder target;

  @Option(names = "--password-stdin", description = "Read the new password from the first line of standard input.")
  boolean passwordStdin;

  @Override
  public Integer call() throws Exception {
    CliEnvironment env = Main.of(spec).environment();
    Address a = target.account();
    target.location(Main.of(spec)); // a bad --database is a usage error before the password is asked
    String password = Passwords.read(env, passwordStdin, "New password for " + a + ": ", true);
    try (AccountStore accounts = target.openStore(Main.of(spec))) {
      try {
        accounts.setPassword(a, password, PasswordHasher.DEFAULT);
      } catch (IllegalStateException e) {
        throw new ExitCodes.CommandFailedException(ExitCodes.FAILURE, e.getMessage() + " in " + target.where(Main.of(spec)));
      }
    }
    PrintWriter out = spec.commandLine().getOut();
    out.println("changed the password of " + a);
    out.flush();
    return ExitCodes.OK;
  }
}
