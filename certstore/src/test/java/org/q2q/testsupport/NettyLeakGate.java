package org.q2q.testsupport;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.util.List;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.slf4j.LoggerFactory;

/**
 * Fails a test class if Netty's leak detector (paranoid in every module's surefire run) reported a
 * buffer that was never released while the class ran. Registered for every test class of every
 * module through {@code META-INF/services} (JUnit extension auto-detection, switched on in the
 * parent pom), so the PTCP adapter, the relay and the server are gated like the peer protocol.
 *
 * <p>Leaks are found when garbage is collected, so after the class it collects and allocates a few
 * times to make the detector report. It can miss a leak, never invent one; a leak from an earlier
 * class found during this one fails this one, and the report's access records name the culprit.
 * Modules without Netty pass trivially. Netty is reached by reflection so that this class needs
 * only logback.
 */
public final class NettyLeakGate implements BeforeAllCallback, AfterAllCallback {
  private static final String DETECTOR = "io.netty.util.ResourceLeakDetector";
  private final ListAppender<ILoggingEvent> appender = new ListAppender<>();

  @Override
  public void beforeAll(ExtensionContext context) {
    appender.start();
    detectorLogger().addAppender(appender);
  }

  @Override
  public void afterAll(ExtensionContext context) {
    try {
      flushReports();
      List<String> leaks = appender.list.stream()
          .map(ILoggingEvent::getFormattedMessage)
          .filter(m -> m.contains("LEAK"))
          .toList();
      if (!leaks.isEmpty()) {
        throw new AssertionError("Netty reported " + leaks.size() + " leaked buffer(s) during "
            + context.getDisplayName() + ":\n" + String.join("\n\n", leaks));
      }
    } finally {
      detectorLogger().detachAppender(appender);
    }
  }

  private static Logger detectorLogger() {
    return (Logger) LoggerFactory.getLogger(DETECTOR);
  }

  /** Collects garbage and allocates tracked buffers, which is when the detector reports. */
  private static void flushReports() {
    Object allocator;
    java.lang.reflect.Method buffer;
    java.lang.reflect.Method release;
    try {
      Class<?> type = Class.forName("io.netty.buffer.ByteBufAllocator");
      allocator = type.getField("DEFAULT").get(null);
      buffer = type.getMethod("buffer", int.class);
      release = Class.forName("io.netty.util.ReferenceCounted").getMethod("release");
    } catch (ReflectiveOperationException | LinkageError noNetty) {
      return; // this module's tests do not use Netty
    }
    try {
      for (int i = 0; i < 4; i++) {
        System.gc();
        for (int j = 0; j < 64; j++) {
          release.invoke(buffer.invoke(allocator, 16));
        }
      }
    } catch (ReflectiveOperationException e) {
      throw new AssertionError("could not make Netty's leak detector report", e);
    }
  }
}
