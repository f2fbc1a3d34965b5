package org.q2q.tools;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.slf4j.LoggerFactory;

/**
 * Initializes, on a second thread, the classes every networked command needs before its first
 * byte leaves: Logback, Netty's OpenSSL binding (which tests its native library and the JDK's TLS
 * at class initialization) and gRPC's Netty transport. Why: a short command is one cold JVM whose
 * main thread meanwhile parses the command line and loads the identity; doing both at once on two
 * cores takes about 150 ms off a small send (issue 11). Only class initialization, no state: the
 * command's own use of these classes behaves exactly as without it, it just finds them ready.
 */
final class Preload {
  private Preload() {}

  /** Counted down once SLF4J has bound Logback (or preloading is not running at all). */
  private static final CountDownLatch LOGGING = new CountDownLatch(1);
  private static volatile boolean started;

  /** Starts the daemon thread; failures are left for the command itself to meet and report. */
  static void start() {
    started = true;
    Thread t = new Thread(Preload::run, "q2q-preload");
    t.setDaemon(true);
    t.start();
  }

  /**
   * Waits until the preload thread has finished binding SLF4J, if it is running. Why: while one
   * thread initializes SLF4J, others get stand-in loggers, which {@link Logging} cannot configure
   * and whose messages SLF4J replays later with a warning of its own on stderr. Called before
   * anything on the main thread logs: setting the verbosity and running the command.
   */
  static void awaitLogging() {
    if (!started) {
      return;
    }
    try {
      LOGGING.await(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static void run() {
    try {
      LoggerFactory.getILoggerFactory();
    } catch (Throwable e) { // the command meets the same cause itself and reports it
      // nothing
    } finally {
      LOGGING.countDown();
    }
    try {
      io.netty.handler.ssl.OpenSsl.isAvailable();
      Class.forName("io.grpc.netty.NettyChannelBuilder", true, Preload.class.getClassLoader());
    } catch (Throwable e) { // as above
      // nothing
    }
  }
}
