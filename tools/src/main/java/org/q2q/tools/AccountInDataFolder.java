package org.q2q.tools;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import org.q2q.certstore.Address;
import org.q2q.server.AccountStore;
import org.q2q.server.DatabaseLocation;
import org.q2q.tools.ExitCodes.UsageException;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * The arguments of the administrator's commands on a server's data folder ({@code q2q server
 * adduser|passwd|revoke}): one account, the folder and the database, checked the same way for all
 * of them.
 */
final class AccountInDataFolder {
  @Parameters(paramLabel = "ADDRESS", description = "The account, e.g. alice@example.com.")
  String address;

  @Option(names = "--data", paramLabel = "DIR", defaultValue = "q2q-data",
      description = "The server's data folder (default: ./${DEFAULT-VALUE}).")
  Path data;

  @Mixin DatabaseOptions database;

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

  /** The database: {@code --database}, else SQLite in the data folder. */
  DatabaseLocation location(Main main) throws IOException {
    return database.location(data, main.environment().env());
  }

  /** Opens the account store of {@link #location}. */
  AccountStore openStore(Main main) throws IOException {
    return AccountStore.open(location(main), Clock.systemUTC());
  }

  /** For messages: the data folder with SQLite, else the database. */
  String where(Main main) throws IOException {
    DatabaseLocation l = location(main);
    return l.sqliteFile() != null ? data.toAbsolutePath().normalize().toString() : l.toString();
  }
}
