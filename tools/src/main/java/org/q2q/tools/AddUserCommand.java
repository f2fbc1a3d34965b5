package org.q2q.tools;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.q2q.certstore.Address;
import org.q2q.certstore.Certificates;
import org.q2q.certstore.PasswordHasher;
import org.q2q.server.AccountStore;
import org.q2q.tools.ExitCodes.UsageException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code q2q server adduser ADDRESS}: add an account to a server's data folder (works while it runs). */
@Command(
    name = "adduser",
    mixinStandardHelpOptions = true,
    description = {
      "Add an account to a presence server's data folder.",
      "For --registration closed. Works whether or not the server is running."
    })
final class AddUserCommand implements Callable<Integer> {
  @Spec private CommandSpec spec;
  @Mixin private VerboseMixin verbose;

  @Mixin AccountInDataFolder target;

  @Option(names = "--password-stdin", description = "Read the password from the first line of standard input.")
  boolean passwordStdin;

  @Override
  public Integer call() throws Exception {
    CliEnvironment env = Main.of(spec).environment();
    Address a = target.account();
    checkDomain(a);
    target.location(Main.of(spec)); // a bad --database is a usage error before the password is asked
    String password = Passwords.read(env, passwordStdin, "New password for " + a + ": ", true);
    try (AccountStore accounts = target.openStore(Main.of(spec))) {
      try {
        accounts.addAccount(a, password, PasswordHasher.DEFAULT);
      } catch (IllegalStateException e) {
        throw new ExitCodes.CommandFailedException(ExitCodes.FAILURE, e.getMessage());
      }
    }
    PrintWriter out = spec.commandLine().getOut();
    out.println("added " + a + " to " + target.where(Main.of(spec)));
    out.flush();
    return ExitCodes.OK;
  }

  /** The data folder's CA, if it has one yet, says which domain the server speaks for. */
  private void checkDomain(Address a) throws IOException {
    Path data = target.data();
    Path ca = data.resolve("ca.crt");
    if (!Files.exists(ca)) {
      return;
    }
    Address domain = Certificates.addressOf(Certificates.readPem(ca).get(0)).orElse(null);
    if (domain != null && !domain.domain().equals(a.domain())) {
      throw new UsageException(
          "the server in " + data + " speaks for " + domain + "; it cannot have an account " + a);
    }
  }
}
