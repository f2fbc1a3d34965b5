package org.q2q.tools;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.Configurator;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.spi.ContextAwareBase;

/**
 * The command line's logging, set up in code (found by logback through {@code META-INF/services}):
 * WARN and above to stderr; {@link Logging} raises the level for -v. In code rather than in a
 * logback.xml because parsing XML costs a small command about a fifth of its start-up.
 */
public final class CliLogConfigurator extends ContextAwareBase implements Configurator {
  @Override
  public ExecutionStatus configure(LoggerContext context) {
    if (configuredElsewhere()) {
      return ExecutionStatus.INVOKE_NEXT_IF_ANY;
    }
    PatternLayoutEncoder encoder = new PatternLayoutEncoder();
    encoder.setContext(context);
    encoder.setPattern("%d{HH:mm:ss.SSS} %-5level %logger{0} - %msg%n");
    encoder.start();
    ConsoleAppender<ILoggingEvent> stderr = new ConsoleAppender<>();
    stderr.setContext(context);
    stderr.setName("STDERR");
    stderr.setTarget("System.err");
    stderr.setEncoder(encoder);
    stderr.start();
    ch.qos.logback.classic.Logger root = context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    root.setLevel(Level.WARN);
    root.addAppender(stderr);
    context.getLogger("io.netty").setLevel(Level.WARN);
    context.getLogger("io.grpc").setLevel(Level.WARN);
    return ExecutionStatus.DO_NOT_INVOKE_NEXT_IF_ANY;
  }

  /**
   * True when logback should read a file instead: an existing one named by
   * {@code -Dlogback.configurationFile}, or else the tests' logback-test.xml. (Tests that run the
   * real command in a process name a file that does not exist, and so get this configuration.)
   */
  private static boolean configuredElsewhere() {
    ClassLoader loader = CliLogConfigurator.class.getClassLoader();
    String explicit = System.getProperty("logback.configurationFile");
    if (explicit != null) {
      return new java.io.File(explicit).isFile() || loader.getResource(explicit) != null;
    }
    return loader.getResource("logback-test.xml") != null;
  }
}
