package org.q2q.tools;

import org.q2q.certstore.AddressFormatException;
import org.q2q.client.Q2qException;

/** The exit codes of {@code q2q}, the same for every command. */
public final class ExitCodes {
  /** Success. */
  public static final int OK = 0;
  /** Any other failure (not found, local files, server errors). */
  public static final int FAILURE = 1;
  /** Bad command line: unknown option, invalid address or server. */
  public static final int USAGE = 2;
  /** The server refused us: wrong password, no account, not permitted, too many attempts. */
  public static final int REFUSED = 3;
  /** The server could not be reached or did not answer. */
  public static final int UNREACHABLE = 4;
  /** A certificate is not trusted: the domain's CA changed or does not match the fingerprint. */
  public static final int UNTRUSTED = 5;

  private ExitCodes() {}

  /** The exit code for an exception escaping a command. */
  public static int of(Throwable e) {
    if (e instanceof Q2qException q) {
      return switch (q.reason()) {
        case UNREACHABLE -> UNREACHABLE;
        case AUTHENTICATION, PERMISSION, RATE_LIMITED -> REFUSED;
        case TRUST -> UNTRUSTED;
        case INVALID -> USAGE;
        case NOT_FOUND, LOCAL, PROTOCOL -> FAILURE;
      };
    }
    if (e instanceof AddressFormatException || e instanceof UsageException) {
      return USAGE;
    }
    return FAILURE;
  }

  /** A command line that parsed but makes no sense; the message says what to change. */
  public static final class UsageException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public UsageException(String message) {
      super(message);
    }
  }

  /** A failure whose message is complete and whose exit code is given. */
  public static final class CommandFailedException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final int exitCode;

    public CommandFailedException(int exitCode, String message) {
      super(message);
      this.exitCode = exitCode;
    }

    /** The exit code to end with. */
    public int exitCode() {
      return exitCode;
    }
  }
}
