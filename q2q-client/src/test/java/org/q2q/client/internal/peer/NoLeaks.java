package org.q2q.client.internal.peer;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.netty.buffer.ByteBufAllocator;
import io.netty.util.ResourceLeakDetector;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.slf4j.LoggerFactory;

/**
 * Fails a test class if Netty's leak detector (paranoid in surefire) reported a ByteBuf that was
 * never released by this package's code. Leaks are found when garbage is collected, so after the
 * class it collects a few times and allocates to make the detector report; it can miss a leak,
 * never invent one. Test classes share one JVM, so reports whose records never pass through this
 * package (another module part's leak found during our class) are printed, not failed on.
 */
final class NoLeaks implements BeforeAllCallback, AfterAllCallback {
  private static final String PACKAGE = NoLeaks.class.getPackageName();
  private final ListAppender<ILoggingEvent> appender = new ListAppender<>();

  @Override
  public void beforeAll(ExtensionContext context) {
    appender.start();
    ((Logger) LoggerFactory.getLogger(ResourceLeakDetector.class)).addAppender(appender);
  }

  @Override
  public void afterAll(ExtensionContext context) {
    try {
      for (int i = 0; i < 8; i++) {
        System.gc();
        for (int j = 0; j < 64; j++) {
          ByteBufAllocator.DEFAULT.buffer(16).release();
        }
      }
      java.util.List<String> leaks = appender.list.stream()
          .map(ILoggingEvent::getFormattedMessage)
          .filter(m -> m.contains("LEAK"))
          .toList();
      leaks.stream()
          .filter(m -> !m.contains(PACKAGE))
          .forEach(m -> System.err.println("leak outside " + PACKAGE + " (not failing this class): " + m));
      assertThat(leaks).as("Netty leak reports involving " + PACKAGE).noneMatch(m -> m.contains(PACKAGE));
    } finally {
      ((Logger) LoggerFactory.getLogger(ResourceLeakDetector.class)).detachAppender(appender);
    }
  }
}
