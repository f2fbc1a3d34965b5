package org.q2q.server;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** The database contract on a real PostgreSQL ({@link PostgresTestDatabase}). */
class PostgresDatabaseTest extends ServerDatabaseContract {
  private static PostgresTestDatabase pg;

  @BeforeAll
  static void create() throws Exception {
    pg = PostgresTestDatabase.create();
  }

  @AfterAll
  static void drop() throws Exception {
    if (pg != null) {
      pg.close();
    }
  }

  @Override
  DatabaseLocation location() {
    return pg.location();
  }
}
