package org.q2q.server;

import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;

/** The database contract on the embedded SQLite file. */
class SqliteDatabaseTest extends ServerDatabaseContract {
  @TempDir Path dir;

  @Override
  DatabaseLocation location() {
    return DatabaseLocation.sqlite(dir);
  }
}
