package org.q2q.tools;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.q2q.certstore.Address;
import org.q2q.certstore.CaPinStore;
import org.q2q.certstore.CertificateAuthority;
import org.q2q.certstore.Fingerprint;

/** {@code q2q server federation list|forget} on a data folder with pinned CAs. */
class FederationCommandTest {
  @TempDir Path data;

  private static CliRun q2q(String... args) {
    return CliRun.of(new CliEnvironment(Map.of(), new ByteArrayInputStream(new byte[0]), null), args);
  }

  @Test
  void listShowsPinsAndForgetRemovesOne() throws Exception {
    // pinned in files, as versions before the database kept them: the first command imports them
    CaPinStore pins = new CaPinStore(data.resolve("federation-cas"));
    CertificateAuthority a = CertificateAuthority.create(Address.ofDomain("a.test"), Clock.systemUTC());
    CertificateAuthority b = CertificateAuthority.create(Address.ofDomain("b.test"), Clock.systemUTC());
    pins.verifyOrPin("a.test", a.certificate(), null);
    pins.verifyOrPin("b.test", b.certificate(), null);

    CliRun list = q2q("server", "federation", "list", "--data", data.toString());
    assertThat(list.exit()).as(list.err()).isZero();
    assertThat(list.out()).contains("a.test  " + Fingerprint.of(a.certificate()))
        .contains("b.test  " + Fingerprint.of(b.certificate()));

    CliRun forget = q2q("server", "federation", "forget", "A.test", "--data", data.toString());
    assertThat(forget.exit()).as(forget.err()).isZero();
    assertThat(data.resolve("federation-cas")).doesNotExist(); // imported into the database
    assertThat(q2q("server", "federation", "list", "--data", data.toString()).out())
        .doesNotContain("a.test").contains("b.test");

    CliRun again = q2q("server", "federation", "forget", "a.test", "--data", data.toString());
    assertThat(again.exit()).isEqualTo(ExitCodes.FAILURE);
    assertThat(again.err()).contains("no CA is pinned for a.test");
  }
}
