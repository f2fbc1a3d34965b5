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

    /** Shows {@code prompt} and reads one line (a yes/no answer); null at end of input. */
    default char[] readLine(String prompt) {
      return readPassword(prompt);
    }
  }

  public CliEnvironment {
    env = Map.copyOf(env);
    Objects.requireNonNull(stdin, "stdin");
  }

  /** The real process environment, stdin and console. */
  public static CliEnvironment system() {
    java.io.Console console = System.console();
    PasswordTerminal terminal = console == null ? null : new PasswordTerminal() {
      @Override
      public char[] readPassword(String prompt) {
        return console.readPassword("%s", prompt);
      }

      @Override
      public char[] readLine(String prompt) {
        String line = console.readLine("%s", prompt);
        return line == null ? null : line.toCharArray();
      }
    };
    return new CliEnvironment(System.getenv(), System.in, terminal);
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
