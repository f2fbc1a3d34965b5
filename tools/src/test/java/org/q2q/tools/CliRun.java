package org.q2q.tools;

import java.io.PrintWriter;
import java.io.StringWriter;
import picocli.CommandLine;

/** One run of the {@code q2q} command line in this JVM (tests): its exit code and what it printed. */
record CliRun(int exit, String out, String err) {
  /** Runs {@code q2q args} with {@code environment}, the whole command tree, as {@link Main} does. */
  static CliRun of(CliEnvironment environment, String... args) {
    CommandLine cl = Main.commandLine(environment);
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    cl.setOut(new PrintWriter(out, true));
    cl.setErr(new PrintWriter(err, true));
    int exit = cl.execute(args);
    return new CliRun(exit, out.toString(), err.toString());
  }
}
