package io.signalbox.ratelimit;

import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongFunction;
import org.slf4j.Logger;

/**
 * One WARN line for a kind of refusal at most once per interval, saying how many were refused since
 * the line before: a flood of refusals must not become a flood of log lines, and the first one is
 * never silent.
 */
final class RefusalLog {

  static final Duration INTERVAL = Duration.ofMinutes(1);

  private final Logger log;
  private final Clock clock;
  private final AtomicLong unreported = new AtomicLong();
  private final AtomicLong nextLineMillis = new AtomicLong(Long.MIN_VALUE);

  RefusalLog(Logger log, Clock clock) {
    this.log = log;
    this.clock = clock;
  }

  /** Counts one refusal; logs {@code line} of the refusals not yet reported when a line is due. */
  void refused(LongFunction<String> line) {
    unreported.incrementAndGet();
    long now = clock.millis();
    long due = nextLineMillis.get();
    if (now >= due && nextLineMillis.compareAndSet(due, now + INTERVAL.toMillis())) {
      log.warn(line.apply(unreported.getAndSet(0)));
    }
  }
}
