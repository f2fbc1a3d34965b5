package org.q2q.tools;

import java.nio.file.Path;
import org.q2q.certstore.Address;
import org.q2q.tools.ExitCodes.UsageException;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * The arguments of the administrator's commands on a server's data folder ({@code q2q server
 * adduser|passwd|revoke}): one account and the folder, checked the same way for all of them.
 */
final class AccountInDataFolder {
  @Parameters(paramLabel = "ADDRESS", description = "The account, e.g. alice@example.com.")
  String address;

  @Option(names = "--data", paramLabel = "DIR", defaultValue = "q2q-data",
      description = "The server's data folder (default: ./${DEFAULT-VALUE}).")
  Path data;

  /** The account's address; a domain is a usage error. */
  Address account() {
    Address a = Address.parse(address);
    if (a.isDomain()) {
      throw new UsageException("'" + a + "' is a domain; accounts are user addresses such as alice@" + a);
    }
    return a;
  }

  /** The data folder. */
  Path data() {
    return data;
  }
}
