package org.q2q.tools;

import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.IExecutionExceptionHandler;
import picocli.CommandLine.IParameterExceptionHandler;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParseResult;

/**
 * Errors on the command line: one clear line on stderr ({@code q2q: <what went wrong>}) and a
 * non-zero {@link ExitCodes exit code}; the stack trace only with {@code -v}.
 */
public final class CliErrors {
  private CliErrors() {}

  /** The one line shown for {@code e}. */
  public static String message(Throwable e) {
    String m = e.getMessage();
    if (m == null || m.isBlank()) {
      m = e.getClass().getSimpleName();
    }
    // keep it to one line
    int nl = m.indexOf('\n');
    return nl >= 0 ? m.substring(0, nl) : m;
  }

  /** Exceptions thrown by commands. */
  static final class ExecutionHandler implements IExecutionExceptionHandler {
    private final Main main;

    ExecutionHandler(Main main) {
      this.main = main;
    }

    @Override
    public int handleExecutionException(Exception e, CommandLine cl, ParseResult parsed) {
      PrintWriter err = cl.getErr();
      err.println("q2q: " + message(e));
      if (main.verbose()) {
        e.printStackTrace(err);
      }
      err.flush();
      if (e instanceof ExitCodes.CommandFailedException f) {
        return f.exitCode();
      }
      return ExitCodes.of(e);
    }
  }

  /** Bad command lines: the problem, and where to read more. */
  static final class ParameterHandler implements IParameterExceptionHandler {
    @Override
    public int handleParseException(ParameterException e, String[] args) {
      CommandLine cl = e.getCommandLine();
      PrintWriter err = cl.getErr();
      err.println("q2q: " + message(e));
      CommandLine.UnmatchedArgumentException.printSuggestions(e, err);
      err.println("Try '" + cl.getCommandSpec().qualifiedName() + " --help' for more information.");
      err.flush();
      return ExitCodes.USAGE;
    }
  }
}
