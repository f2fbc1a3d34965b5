package org.q2q.tools;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code -v/--verbose}, on every command: once for INFO logs, twice for DEBUG; with it, errors
 * also print their stack trace. The count is kept on the root {@link Main}, wherever the option is
 * given ({@code q2q -v register ...} or {@code q2q register -v ...}).
 */
@Command
public final class VerboseMixin {
  @Spec(Spec.Target.MIXEE)
  private CommandSpec mixee;

  @Option(names = {"-v", "--verbose"}, description = "Show more: -v logs to stderr and stack traces on errors, -vv debug logs.")
  public void setVerbose(boolean[] verbose) {
    Main main = Main.of(mixee);
    main.verbosity = Math.max(main.verbosity, verbose == null ? 0 : verbose.length);
    Logging.setVerbosity(main.verbosity);
  }
}
