package org.q2q.tools;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import org.slf4j.LoggerFactory;

/** Log levels of the command line: quiet (WARN) by default, -v INFO, -vv DEBUG; logs go to stderr. */
final class Logging {
  private Logging() {}

  /** Sets the level for {@code verbosity} = number of -v flags. */
  static void setVerbosity(int verbosity) {
    Preload.awaitLogging();
    Level level = verbosity <= 0 ? Level.WARN : verbosity == 1 ? Level.INFO : Level.DEBUG;
    ((Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME)).setLevel(level);
    GRPC_JUL.setLevel(verbosity <= 0 ? java.util.logging.Level.SEVERE
        : verbosity == 1 ? java.util.logging.Level.WARNING : java.util.logging.Level.FINE);
  }

  /** gRPC logs through java.util.logging; held strongly so the level sticks. */
  private static final java.util.logging.Logger GRPC_JUL = java.util.logging.Logger.getLogger("io.grpc");

  /** The default for java.util.logging (gRPC): only severe messages. */
  static void quietJavaUtilLogging() {
    GRPC_JUL.setLevel(java.util.logging.Level.SEVERE);
  }
}
