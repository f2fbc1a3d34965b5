package org.q2q.tools;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import org.q2q.server.DatabaseLocation;
import org.q2q.tools.ExitCodes.UsageException;
import picocli.CommandLine.Option;

/**
 * {@code --database} and {@code --database-password-file}: where the server's database is, the
 * same for {@code q2q server} and the administrator's commands. Without them, SQLite in the data
 * folder.
 */
final class DatabaseOptions {
  @Option(names = "--database", paramLabel = "URL",
      description = {"A PostgreSQL database shared by the nodes of the domain: "
          + "postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE (password also from "
          + "--database-password-file or PGPASSWORD). Default: SQLite q2q.db in the data folder."})
  String url;

  @Option(names = "--database-password-file", paramLabel = "FILE",
      description = "Read the database password from the first line of FILE.")
  Path passwordFile;

  /** The database: PostgreSQL if {@code --database} was given, else SQLite in {@code data}. */
  DatabaseLocation location(Path data, Map<String, String> env) throws IOException {
    if (url == null) {
      if (passwordFile != null) {
        throw new UsageException("--database-password-file is for a --database postgresql://... URL");
      }
      return DatabaseLocation.sqlite(data);
    }
    try {
      return DatabaseLocation.postgresql(url, passwordFile, env);
    } catch (IllegalArgumentException e) {
      throw new UsageException("--database: " + e.getMessage());
    }
  }
}
