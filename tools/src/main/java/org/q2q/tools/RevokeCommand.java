package org.q2q.tools;

import java.io.PrintWriter;
import java.math.BigInteger;
import java.util.List;
import java.util.concurrent.Callable;
import org.q2q.certstore.Address;
import org.q2q.server.AccountStore;
import org.q2q.tools.ExitCodes.UsageException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code q2q server revoke ADDRESS}: revoke an account's certificates in a server's data folder. */
@Command(
    name = "revoke",
    mixinStandardHelpOptions = true,
    description = {
      "Revoke the certificates of an account (all of them, or one with --serial), or list them with --list.",
      "Works whether or not the server is running: a running server refuses the revoked certificates within a few seconds and ends their Listen streams. The owner registers again with the password to get a new one (change the password too if it leaked: q2q server passwd)."
    })
final class RevokeCommand implements Callable<Integer> {
  @Spec private CommandSpec spec;
  @Mixin private VerboseMixin verbose;

  @Mixin AccountInDataFolder target;

  @Option(names = "--serial", paramLabel = "HEX", description = "Revoke only this certificate (see --list).")
  String serial;

  @Option(names = "--list", description = "Only list the account's certificates and whether they are revoked.")
  boolean list;

  @Override
  public Integer call() throws Exception {
    Address a = target.account();
    PrintWriter out = spec.commandLine().getOut();
    try (AccountStore accounts = target.openStore(Main.of(spec))) {
      if (accounts.find(a).isEmpty()) {
        throw new ExitCodes.CommandFailedException(ExitCodes.FAILURE, "there is no account " + a + " in " + target.where(Main.of(spec)));
      }
      if (list) {
        List<AccountStore.CertificateStatus> all = accounts.certificateStatuses(a);
        if (all.isEmpty()) {
          out.println("no certificates issued to " + a);
        }
        for (AccountStore.CertificateStatus c : all) {
          out.println(c.certificate().serial().toString(16) + "  issued " + c.certificate().issued()
              + "  until " + c.certificate().notAfter()
              + c.revoked().map(r -> "  REVOKED " + r + " (" + c.reason() + ")").orElse(""));
        }
      } else if (serial != null) {
        BigInteger s;
        try {
          s = new BigInteger(serial.replace(":", ""), 16);
        } catch (NumberFormatException e) {
          throw new UsageException("--serial: '" + serial + "' is not a hexadecimal serial number");
        }
        if (!accounts.revoke(a, s, "revoked by the administrator")) {
          throw new ExitCodes.CommandFailedException(ExitCodes.FAILURE,
              "no unrevoked certificate " + serial + " of " + a + " (see --list)");
        }
        out.println("revoked certificate " + s.toString(16) + " of " + a);
      } else {
        int n = accounts.revokeAll(a, null, "revoked by the administrator");
        out.println("revoked " + n + " certificate(s) of " + a);
      }
    }
    out.flush();
    return ExitCodes.OK;
  }
}
