package org.q2q.tools;

import java.io.PrintWriter;
import java.time.Clock;
import java.time.Duration;
import java.util.Locale;
import org.q2q.client.files.TransferProgress;

/**
 * Progress as plain lines at most every {@code period} (for logs and pipes, where a redrawn bar
 * would be noise): bytes, percentage, rate since the start (resumed bytes left out) and ETA.
 */
final class PlainMeter implements TransferProgress {
  private final PrintWriter out;
  private final String label;
  private final Clock clock;
  private final long periodMillis;
  private long start;
  private long last;
  private long skipped;

  PlainMeter(PrintWriter out, Clock clock, Duration period) {
    this(out, "progress", clock, period);
  }

  /** @param label what starts each line, before the colon (e.g. "progress from alice@example.com") */
  PlainMeter(PrintWriter out, String label, Clock clock, Duration period) {
    this.out = out;
    this.label = label;
    this.clock = clock;
    this.periodMillis = period.toMillis();
    this.start = clock.millis();
    this.last = start;
  }

  @Override
  public void started(long total, long skipped) {
    this.skipped = skipped;
    this.start = clock.millis();
    this.last = start;
  }

  @Override
  public void update(long done, long total) {
    long now = clock.millis();
    if (now - last < periodMillis) {
      return;
    }
    last = now;
    out.println(label + ": " + line(done, total, skipped, Duration.ofMillis(now - start)));
    out.flush();
  }

  /** "12.0 MiB / 100.0 MiB (12%), 10.0 MiB/s, ETA 9 s". */
  static String line(long done, long total, long skipped, Duration elapsed) {
    long moved = done - skipped;
    long millis = Math.max(1, elapsed.toMillis());
    String eta = moved <= 0 ? "?" : (total - done) * millis / moved / 1000 + " s";
    return String.format(Locale.ROOT, "%s / %s (%d%%), %s, ETA %s", ByteSizes.format(done), ByteSizes.format(total),
        total == 0 ? 100 : done * 100 / total, ByteSizes.rate(moved, elapsed), eta);
  }
}
