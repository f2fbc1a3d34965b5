package org.q2q.tools;

import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Objects;
import org.q2q.certstore.ClientHome;

/**
 * What a command may read from the world: environment variables, standard input, and a terminal
 * to ask for passwords. Injected so that tests run commands in-process with their own
 * {@code Q2Q_HOME}.
 *
 * @param env environment variables ({@code Q2Q_HOME}, {@code Q2Q_SERVERS})
 * @param stdin standard input (for {@code --password-stdin})
 * @param terminal asks for a password without echo, or null when there is no terminal
 */
public record CliEnvironment(Map<String, String> env, InputStream stdin, PasswordTerminal terminal) {
  /** Reads a password from a terminal without echoing it. */
  @FunctionalInterface
  public interface PasswordTerminal {
    /** Shows {@code prompt} and reads one line without echo; null at end of input. */
    char[] readPassword(String prompt);
  }

  public CliEnvironment {
    env = Map.copyOf(env);
    Objects.requireNonNull(stdin, "stdin");
  }

  /** The real process environment, stdin and console. */
  public static CliEnvironment system() {
    java.io.Console console = System.console();
    return new CliEnvironment(
        System.getenv(), System.in, console == null ? null : prompt -> console.readPassword("%s", prompt));
  }

  /** The client home ({@code $Q2Q_HOME}, default {@code ~/.q2q}). */
  public ClientHome home() {
    return ClientHome.fromEnvironment(env);
  }

  /** A writer on standard error that flushes every line (for prompts and errors). */
  static PrintWriter stderr() {
    return new PrintWriter(new java.io.OutputStreamWriter(System.err, StandardCharsets.UTF_8), true);
  }
}
