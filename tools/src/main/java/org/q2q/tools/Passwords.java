package org.q2q.tools;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.q2q.tools.ExitCodes.UsageException;

/** Reads a password: the first line of stdin ({@code --password-stdin}), or the terminal without echo. */
public final class Passwords {
  private Passwords() {}

  /**
   * The password.
   *
   * @param fromStdin read the first line of standard input instead of asking
   * @param prompt what to ask, e.g. "Password for alice@localhost: "
   * @param confirm ask twice and require the same answer (for a new password)
   */
  public static String read(CliEnvironment env, boolean fromStdin, String prompt, boolean confirm) throws IOException {
    String p;
    if (fromStdin) {
      BufferedReader r = new BufferedReader(new InputStreamReader(env.stdin(), StandardCharsets.UTF_8));
      p = r.readLine();
      if (p == null) {
        throw new UsageException("--password-stdin: standard input is empty");
      }
    } else {
      if (env.terminal() == null) {
        throw new UsageException("there is no terminal to ask for the password; use --password-stdin");
      }
      p = ask(env, prompt);
      if (confirm && !p.equals(ask(env, "Again: "))) {
        throw new UsageException("the two passwords differ");
      }
    }
    if (p.isEmpty()) {
      throw new UsageException("the password is empty");
    }
    return p;
  }

  /**
   * Checks that a password can be had (standard input, or a terminal to ask on) before anything
   * else is done.
   *
   * @throws UsageException saying to use --password-stdin
   */
  public static void requireSource(CliEnvironment env, boolean fromStdin) {
    if (!fromStdin && env.terminal() == null) {
      throw new UsageException("there is no terminal to ask for the password; use --password-stdin");
    }
  }

  /**
   * The current and a new password of {@code address}: the first two lines of standard input, or
   * asked on the terminal (the new one twice).
   */
  public static String[] readWithNew(CliEnvironment env, boolean fromStdin, Object address) throws IOException {
    if (!fromStdin) {
      String current = read(env, false, "Password for " + address + ": ", false);
      return new String[] {current, read(env, false, "New password for " + address + ": ", true)};
    }
    BufferedReader r = new BufferedReader(new InputStreamReader(env.stdin(), StandardCharsets.UTF_8));
    String current = r.readLine();
    String next = r.readLine();
    if (current == null || next == null) {
      throw new UsageException("--password-stdin with --change-password: give the password and the new one on two lines");
    }
    if (current.isEmpty() || next.isEmpty()) {
      throw new UsageException("the password is empty");
    }
    return new String[] {current, next};
  }

  private static String ask(CliEnvironment env, String prompt) {
    char[] c = env.terminal().readPassword(prompt);
    if (c == null) {
      throw new UsageException("no password given");
    }
    try {
      return new String(c);
    } finally {
      Arrays.fill(c, '\0');
    }
  }
}
