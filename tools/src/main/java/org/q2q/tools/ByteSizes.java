package org.q2q.tools;

import java.time.Duration;
import java.util.Locale;

/** Human-readable sizes and rates for command output (binary units: KiB, MiB, GiB). */
final class ByteSizes {
  private ByteSizes() {}

  /** {@code 0 B}, {@code 1023 B}, {@code 1.0 KiB}, {@code 64.0 MiB}, ... */
  static String format(long bytes) {
    if (bytes < 1024) {
      return bytes + " B";
    }
    String[] units = {"KiB", "MiB", "GiB", "TiB"};
    double v = bytes;
    int u = -1;
    while (v >= 1024 && u < units.length - 1) {
      v /= 1024;
      u++;
    }
    return String.format(Locale.ROOT, "%.1f %s", v, units[u]);
  }

  /** Bytes per second over {@code elapsed}, e.g. {@code 12.3 MiB/s}. */
  static String rate(long bytes, Duration elapsed) {
    long millis = Math.max(1, elapsed.toMillis());
    return format(bytes * 1000 / millis) + "/s";
  }

  /** {@code 0.8 s}, {@code 12.0 s}. */
  static String seconds(Duration d) {
    return String.format(Locale.ROOT, "%.1f s", d.toMillis() / 1000.0);
  }
}
