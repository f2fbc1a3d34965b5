package org.q2q.tools;

import java.io.IOException;
import java.util.List;
import java.util.stream.Collectors;
import org.q2q.certstore.Address;
import org.q2q.certstore.ClientHome;
import org.q2q.certstore.Identity;
import org.q2q.tools.ExitCodes.UsageException;
import picocli.CommandLine.Option;

/**
 * {@code --as ADDRESS}: which stored identity a command acts as. Without it, the only identity in
 * {@code $Q2Q_HOME} is used; with none or several, the error says what to do.
 */
public final class IdentityOption {
  @Option(names = "--as", paramLabel = "ADDRESS", description = "The identity to act as (default: the only one in $Q2Q_HOME).")
  String as;

  /** The address asked for, or null. */
  public String given() {
    return as;
  }

  /**
   * The identity to act as.
   *
   * @throws UsageException if {@code --as} names no stored identity, or none/several are stored
   */
  public Identity resolve(ClientHome home) throws IOException {
    if (as != null) {
      Address a = Address.parse(as);
      return home.load(a)
          .orElseThrow(() -> new UsageException(
              "there is no identity " + a + " in " + home.root() + " (register it first: q2q register " + a + ")"));
    }
    List<Address> all = home.addresses();
    if (all.isEmpty()) {
      throw new UsageException(
          "there is no identity in " + home.root() + "; register one first: q2q register ADDRESS --server HOST:PORT");
    }
    if (all.size() > 1) {
      throw new UsageException(
          "there are several identities in " + home.root() + " ("
              + all.stream().map(Address::toString).collect(Collectors.joining(", ")) + "); choose one with --as");
    }
    return home.load(all.get(0)).orElseThrow(() -> new IOException("the identity " + all.get(0) + " disappeared"));
  }
}
