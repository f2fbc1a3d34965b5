package org.q2q.tools;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.q2q.certstore.Address;
import org.q2q.server.LoopbackServer;
import org.q2q.server.PostgresTestDatabase;
import org.q2q.server.RegistrationMode;

/**
 * {@code --database postgresql://...} on the server's commands, against a real PostgreSQL: the
 * administrator's commands reach the database the nodes share, the password comes from the URL, a
 * file or PGPASSWORD, and a bad URL, an unreachable server or a wrong password is one clear line.
 */
@Timeout(120)
class DatabaseOptionTest {
  private static PostgresTestDatabase pg;
  @TempDir Path home;

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

  private CliRun q2q(Map<String, String> extraEnv, String stdin, String... args) {
    Map<String, String> env = new HashMap<>(extraEnv);
    env.put("Q2Q_HOME", home.toString());
    return CliRun.of(new CliEnvironment(env, new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8)), null), args);
  }

  /** {@code postgresql://q2q@host:port/db}: the test URL without its password. */
  private static String[] urlAndPassword() {
    String url = pg.url();
    int colon = url.indexOf(':', "postgresql://".length());
    int at = url.indexOf('@');
    return new String[] {url.substring(0, colon) + url.substring(at), url.substring(colon + 1, at)};
  }

  @Test
  void adduserWritesToTheSharedDatabaseAClosedServerUses() throws Exception {
    try (LoopbackServer s = LoopbackServer.start("localhost",
        b -> b.database(pg.location()).registration(RegistrationMode.CLOSED))) {
      Path data = home.resolve("admin-data"); // no q2q.db appears there: the accounts are in PostgreSQL
      CliRun add = q2q(Map.of(), "pw\n", "server", "adduser", "carol@localhost", "--data", data.toString(),
          "--database", pg.url(), "--password-stdin");
      assertThat(add.exit()).as(add.err()).isZero();
      assertThat(add.out()).contains("added carol@localhost to postgresql://").doesNotContain(urlAndPassword()[1]);
      assertThat(s.server().accounts().find(Address.parse("carol@localhost"))).isPresent();
      assertThat(data.resolve("q2q.db")).doesNotExist();

      CliRun ok = q2q(Map.of(), "pw\n", "register", "carol@localhost", "--server", s.hostPort(), "--password-stdin", "--yes");
      assertThat(ok.exit()).as(ok.err()).isZero();

      String[] up = urlAndPassword();
      Path pwFile = home.resolve("db-password");
      Files.writeString(pwFile, up[1] + "\n");
      CliRun passwd = q2q(Map.of(), "new-pw\n", "server", "passwd", "carol@localhost", "--database", up[0],
          "--database-password-file", pwFile.toString(), "--password-stdin");
      assertThat(passwd.exit()).as(passwd.err()).isZero();
      CliRun list = q2q(Map.of("PGPASSWORD", up[1]), "", "server", "revoke", "carol@localhost", "--list",
          "--database", up[0]);
      assertThat(list.exit()).as(list.err()).isZero();
      assertThat(list.out()).contains("issued");
    }
  }

  @Test
  void aBadUrlIsAUsageErrorNamingTheForm() {
    CliRun r = q2q(Map.of(), "", "server", "adduser", "carol@localhost", "--database", "mysql://u:secret@h/db",
        "--password-stdin");
    assertThat(r.exit()).isEqualTo(ExitCodes.USAGE);
    assertThat(r.err()).startsWith("q2q: --database: ").contains("postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE")
        .doesNotContain("secret");
    assertThat(r.err().lines()).hasSize(1);
  }

  @Test
  void aWrongPasswordOrAnUnreachableServerIsOneLine() {
    String wrong = pg.url().replaceFirst(":[^:@/]+@", ":not-the-password@");
    CliRun r = q2q(Map.of(), "pw\n", "server", "adduser", "carol@localhost", "--database", wrong, "--password-stdin");
    assertThat(r.exit()).isEqualTo(ExitCodes.FAILURE);
    assertThat(r.err()).startsWith("q2q: cannot open the database postgresql://q2q@")
        .contains("password authentication failed").doesNotContain("not-the-password");
    assertThat(r.err().lines()).hasSize(1);

    CliRun down = q2q(Map.of(), "", "server", "--port", "0", "--bind", "127.0.0.1", "--data", home.resolve("d").toString(),
        "--database", "postgresql://q2q:x@127.0.0.1:1/q2q");
    assertThat(down.exit()).isEqualTo(ExitCodes.FAILURE);
    assertThat(down.err()).startsWith("q2q: cannot open the database postgresql://q2q@127.0.0.1:1/q2q: ")
        .contains("refused");
    assertThat(down.err().lines()).hasSize(1);
  }
}
