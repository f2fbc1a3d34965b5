package org.q2q.tools;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import org.junit.jupiter.api.Test;

class PlainMeterTest {
  /** A clock the test moves. */
  static final class ManualClock extends Clock {
    long millis;

    @Override
    public ZoneOffset getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(java.time.ZoneId zone) {
      return this;
    }

    @Override
    public Instant instant() {
      return Instant.ofEpochMilli(millis);
    }
  }

  @Test
  void printsBytesRateAndEtaAtMostOncePerPeriodLeavingResumedBytesOutOfTheRate() {
    StringWriter text = new StringWriter();
    ManualClock clock = new ManualClock();
    PlainMeter m = new PlainMeter(new PrintWriter(text), clock, Duration.ofSeconds(1));
    m.started(20L << 20, 10L << 20); // half was already there
    clock.millis = 500;
    m.update(11L << 20, 20L << 20);
    assertThat(text.toString()).isEmpty();
    clock.millis = 1000;
    m.update(12L << 20, 20L << 20);
    assertThat(text.toString()).isEqualTo("progress: 12.0 MiB / 20.0 MiB (60%), 2.0 MiB/s, ETA 4 s" + System.lineSeparator());
  }

  @Test
  void aReceiversLinesNameTheSender() {
    StringWriter text = new StringWriter();
    ManualClock clock = new ManualClock();
    PlainMeter m = new PlainMeter(new PrintWriter(text), "progress from alice@example.com", clock, Duration.ofSeconds(10));
    m.started(4L << 20, 0);
    clock.millis = 9_999;
    m.update(1L << 20, 4L << 20);
    assertThat(text.toString()).isEmpty();
    clock.millis = 10_000;
    m.update(2L << 20, 4L << 20);
    assertThat(text.toString())
        .isEqualTo("progress from alice@example.com: 2.0 MiB / 4.0 MiB (50%), 204.8 KiB/s, ETA 10 s" + System.lineSeparator());
  }
}
