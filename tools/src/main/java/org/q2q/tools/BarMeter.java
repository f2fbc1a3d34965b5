package org.q2q.tools;

import java.time.Duration;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import org.q2q.client.files.TransferProgress;

/**
 * One progress bar for a whole transfer on a terminal (bytes, rate, ETA), drawn on stderr by
 * {@code me.tongfei:progressbar}. Only loaded when stdout is a terminal: its terminal library costs
 * start-up time that a script does not need to pay.
 */
final class BarMeter implements TransferProgress, AutoCloseable {
  private final String task;
  private ProgressBar bar;

  BarMeter(String task) {
    this.task = task;
  }

  @Override
  public void started(long total, long skipped) {
    bar = new ProgressBarBuilder()
        .setTaskName(task)
        .setInitialMax(total)
        .setUnit("MiB", 1 << 20)
        .showSpeed()
        .setStyle(ProgressBarStyle.COLORFUL_UNICODE_BLOCK)
        .setUpdateIntervalMillis(200)
        .setConsumer(new ConsoleProgressBarConsumer(System.err))
        .startsFrom(skipped, Duration.ZERO) // rate and ETA count only what moves now
        .build();
  }

  @Override
  public void update(long done, long total) {
    if (bar != null) {
      bar.stepTo(done);
    }
  }

  @Override
  public void close() {
    if (bar != null) {
      bar.close();
      bar = null;
    }
  }
}
