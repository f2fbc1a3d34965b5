package org.q2q.tools;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.q2q.certstore.Address;
import org.q2q.certstore.ClientHome;
import org.q2q.certstore.Identity;
import org.q2q.server.LoopbackServer;

/**
 * Trust on first use made deliberate (review M4: the CA is confirmed before the password is sent),
 * {@code q2q known-cas}, and the certificate lifecycle from the command line (H4: revoke my other
 * devices, change the password, the administrator's revoke and passwd). In-process commands
 * against a real presence server on loopback.
 */
@Timeout(60)
class LifecycleCommandsTest {
  private static final Address ALICE = Address.parse("alice@localhost");

  @TempDir Path home;


  private CliRun q2q(String stdin, String... args) {
    return q2q(home, stdin, args);
  }

  private static CliRun q2q(Path home, String stdin, String... args) {
    return q2q(new CliEnvironment(Map.of("Q2Q_HOME", home.toString()),
        new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8)), null), args);
  }

  private static CliRun q2q(CliEnvironment environment, String... args) {
    return CliRun.of(environment, args);
  }

  @Test
  void withoutTerminalNorYesRegisterRefusesBeforeSendingThePasswordAndNamesTheFlags() throws Exception {
    try (LoopbackServer s = LoopbackServer.start()) {
      CliRun r = q2q("secret\n", "register", "alice@localhost", "--server", s.hostPort(), "--password-stdin");
      String fp = s.server().ca().fingerprint().toString();
      assertThat(r.exit()).isEqualTo(ExitCodes.USAGE);
      assertThat(r.err()).contains("not pinned yet", fp, "--ca-fingerprint " + fp, "--yes");
      assertThat(s.server().accounts().find(ALICE)).isEmpty(); // the password never went out
      assertThat(new ClientHome(home).pins().all()).isEmpty();

      CliRun withFingerprint = q2q("secret\n", "register", "alice@localhost", "--server", s.hostPort(),
          "--password-stdin", "--ca-fingerprint", fp);
      assertThat(withFingerprint.exit()).as(withFingerprint.err()).isZero();
    }
  }

  @Test
  void onATerminalTheNewCaIsShownAndAnsweringNoSendsNothing() throws Exception {
    try (LoopbackServer s = LoopbackServer.start()) {
      MainTest.ScriptedTerminal t = new MainTest.ScriptedTerminal("n", "secret");
      CliRun r = q2q(new CliEnvironment(Map.of("Q2Q_HOME", home.toString()), new ByteArrayInputStream(new byte[0]), t),
          "register", "alice@localhost", "--server", s.hostPort());
      assertThat(r.exit()).isEqualTo(ExitCodes.UNTRUSTED);
      assertThat(r.err()).contains(s.server().ca().fingerprint().toString()).contains("was not trusted");
      assertThat(t.prompts).containsExactly("Trust it and send your password to this server? [y/N] ");
      assertThat(s.server().accounts().find(ALICE)).isEmpty();
    }
  }

  @Test
  void knownCasListsAndForgetsPins() throws Exception {
    try (LoopbackServer s = LoopbackServer.start()) {
      assertThat(q2q("", "known-cas", "list").out()).contains("no CA pinned");
      assertThat(q2q("secret\n", "register", "alice@localhost", "--server", s.hostPort(), "--password-stdin", "--yes")
          .exit()).isZero();
      CliRun list = q2q("", "known-cas", "list");
      assertThat(list.exit()).isZero();
      assertThat(list.out()).contains("localhost  " + s.server().ca().fingerprint());

      CliRun forget = q2q("", "known-cas", "forget", "localhost");
      assertThat(forget.exit()).as(forget.err()).isZero();
      assertThat(q2q("", "known-cas", "list").out()).contains("no CA pinned");
      CliRun again = q2q("", "known-cas", "forget", "localhost");
      assertThat(again.exit()).isEqualTo(ExitCodes.FAILURE);
      assertThat(again.err()).contains("no CA is pinned for localhost");
    }
  }

  @Test
  void revokeOthersChangePasswordAndTheAdministratorsCommands() throws Exception {
    try (LoopbackServer s = LoopbackServer.start()) {
      Path laptop = home.resolve("laptop");
      Path phone = home.resolve("phone");
      assertThat(q2q(laptop, "secret\n", "register", "alice@localhost", "--server", s.hostPort(),
          "--password-stdin", "--yes").exit()).isZero();
      Identity stolen = new ClientHome(laptop).load(ALICE).orElseThrow();

      CliRun r = q2q(phone, "secret\nnew secret\n", "register", "alice@localhost", "--server", s.hostPort(),
          "--password-stdin", "--yes", "--revoke-others", "--change-password");
      assertThat(r.exit()).as(r.err()).isZero();
      assertThat(r.out()).contains("password changed").contains("revoked 1 other certificate(s) of alice@localhost");
      assertThat(s.server().revocations().isRevoked(stolen.certificate())).isTrue();
      assertThat(q2q(laptop, "secret\n", "register", "alice@localhost", "--password-stdin").exit())
          .isEqualTo(ExitCodes.REFUSED); // the old password is gone

      // re-registering on the same machine renews: same key, the older certificate revoked
      Identity before = new ClientHome(phone).load(ALICE).orElseThrow();
      assertThat(q2q(phone, "new secret\n", "register", "alice@localhost", "--password-stdin").exit()).isZero();
      Identity after = new ClientHome(phone).load(ALICE).orElseThrow();
      assertThat(after.certificate().getPublicKey()).isEqualTo(before.certificate().getPublicKey());
      assertThat(s.server().revocations().isRevoked(before.certificate())).isTrue();
      // unless a new key is asked for (the old one may have been copied)
      assertThat(q2q(phone, "new secret\n", "register", "alice@localhost", "--password-stdin", "--new-key").exit())
          .isZero();
      Identity fresh = new ClientHome(phone).load(ALICE).orElseThrow();
      assertThat(fresh.certificate().getPublicKey()).isNotEqualTo(after.certificate().getPublicKey());

      String data = s.dataDir().toString();
      CliRun list = q2q("", "server", "revoke", "alice@localhost", "--data", data, "--list");
      assertThat(list.exit()).as(list.err()).isZero();
      assertThat(list.out().lines()).hasSize(4);
      assertThat(list.out()).contains(stolen.certificate().getSerialNumber().toString(16) + "  issued")
          .contains("REVOKED").contains("revoked by the owner").contains("renewed");

      CliRun revoke = q2q("", "server", "revoke", "alice@localhost", "--data", data);
      assertThat(revoke.exit()).as(revoke.err()).isZero();
      assertThat(revoke.out()).contains("revoked 2 certificate(s) of alice@localhost");
      CliRun passwd = q2q("reset\n", "server", "passwd", "alice@localhost", "--data", data, "--password-stdin");
      assertThat(passwd.exit()).as(passwd.err()).isZero();
      assertThat(q2q(phone, "reset\n", "register", "alice@localhost", "--password-stdin").exit()).isZero();
      assertThat(q2q("", "server", "passwd", "nobody@localhost", "--data", data, "--password-stdin").exit())
          .isEqualTo(ExitCodes.USAGE); // empty stdin
      assertThat(Files.exists(s.dataDir().resolve("q2q.db"))).isTrue();
    }
  }
}
