package org.q2q.server.internal.metrics;

import io.prometheus.metrics.exporter.httpserver.HTTPServer;
import io.prometheus.metrics.instrumentation.jvm.JvmMetrics;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The metrics endpoint: plain HTTP on an address of the administrator's choosing, serving {@link
 * ServerMetrics} and the JVM's own metrics (memory, GC, threads, process) in the Prometheus text
 * format at {@code /metrics}. It is off unless asked for, and separate from the gRPC port: a scraper
 * needs no TLS client certificate, and the administrator decides who reaches it (bind it to
 * loopback or a management network; the counts are not secret, but they are not for everyone).
 */
public final class MetricsEndpoint implements AutoCloseable {
  /** How the message of a failure to open the endpoint starts. */
  public static final String CANNOT_SERVE = "cannot serve metrics on ";

  private final HTTPServer http;
  private final ExecutorService executor;

  private MetricsEndpoint(HTTPServer http, ExecutorService executor) {
    this.http = http;
    this.executor = executor;
  }

  /**
   * Serves {@code metrics} on {@code at} (port 0: a free one, see {@link #port()}).
   *
   * @throws IOException if the address cannot be bound
   */
  public static MetricsEndpoint open(InetSocketAddress at, ServerMetrics metrics) throws IOException {
    // JVM metrics only when served: a server without the endpoint pays nothing for them
    JvmMetrics.builder().register(metrics.registry());
    // two threads: a scrape is rare and quick; a client that stalls its response holds one, not the server
    AtomicInteger n = new AtomicInteger();
    ThreadPoolExecutor executor = new ThreadPoolExecutor(2, 2, 60, TimeUnit.SECONDS, new LinkedBlockingQueue<>(64),
        r -> {
          Thread t = new Thread(r, "q2q-metrics-" + n.incrementAndGet());
          t.setDaemon(true);
          return t;
        });
    executor.allowCoreThreadTimeOut(true);
    try {
      HTTPServer http = HTTPServer.builder()
          .inetAddress(at.getAddress())
          .port(at.getPort())
          .registry(metrics.registry())
          .executorService(executor)
          .buildAndStart();
      return new MetricsEndpoint(http, executor);
    } catch (IOException | RuntimeException e) {
      executor.shutdownNow();
      String host = at.getAddress().getHostAddress();
      throw new IOException(CANNOT_SERVE + (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + at.getPort()
          + ": " + e.getMessage() + " (is the port taken? choose another one for the metrics)", e);
    }
  }

  /** The TCP port listened on. */
  public int port() {
    return http.getPort();
  }

  /** Stops serving. */
  @Override
  public void close() {
    http.close();
    executor.shutdownNow();
  }
}
