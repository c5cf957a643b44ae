package io.signalbox.xds;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** When the pipeline publishes, told by the pipeline thread's own calls. */
class ChangeCoalescerTest {

  private static final Duration QUIET = Duration.ofMillis(1);
  private static final Duration MAX_DELAY = Duration.ofSeconds(5);

  /** The pipeline thread's CPU time, moved by the test as a publication works. */
  private final AtomicLong cpuNanos = new AtomicLong();

  private final ChangeCoalescer coalescer = new ChangeCoalescer(QUIET, MAX_DELAY, cpuNanos::get);

  private long awaitChange(ChangeCoalescer changes, long handled) throws InterruptedException {
    return changes.awaitChange(handled, () -> true);
  }

  private static long millisSince(long startNanos) {
    return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos);
  }

  /** The first publication begins: a change that finds the pipeline idle. */
  private long firstPublication(ChangeCoalescer changes) throws InterruptedException {
    changes.published();
    Thread.sleep(20);
    changes.signal();
    return awaitChange(changes, 0);
  }

  private void works(long millis) {
    cpuNanos.addAndGet(TimeUnit.MILLISECONDS.toNanos(millis));
  }

  @Test
  void aChangeThatFindsThePipelineIdleIsPublishedAtOnceHoweverLongTheLastPublicationWorked()
      throws InterruptedException {
    long handled = firstPublication(coalescer);
    works(300);
    coalescer.published();
    Thread.sleep(20);

    coalescer.signal();
    long started = System.nanoTime();
    long next = awaitChange(coalescer, handled);

    assertThat(next).isEqualTo(2);
    // Resting after the publication's 300 ms of work would have waited until 280 ms from here.
    assertThat(millisSince(started)).isLessThan(150);
  }

  @Test
  void underASteadyStreamThePipelineRestsAsLongAsItsLastPublicationWorked()
      throws InterruptedException {
    long handled = firstPublication(coalescer);

    works(150);
    coalescer.signal(); // during the publication
    coalescer.published();
    long ended = System.nanoTime();
    long next = awaitChange(coalescer, handled);

    assertThat(next).isEqualTo(2);
    // Measured from before published() read the clock: the rest is at least 150 ms after this.
    assertThat(millisSince(ended)).isGreaterThanOrEqualTo(149);
  }

  @Test
  void aPublicationThatOnlyWaitedNeedsNoRest() throws InterruptedException {
    long handled = firstPublication(coalescer);

    Thread.sleep(300); // waiting for Envoys to apply a stage, say: no CPU time
    coalescer.signal();
    coalescer.published();
    long ended = System.nanoTime();
    awaitChange(coalescer, handled);

    assertThat(millisSince(ended)).isLessThan(150);
  }

  @Test
  void theRestNeverExceedsTheMaximumDelay() throws InterruptedException {
    ChangeCoalescer shortDelay = new ChangeCoalescer(QUIET, Duration.ofMillis(50), cpuNanos::get);
    long handled = firstPublication(shortDelay);
    works(600);
    shortDelay.signal();
    shortDelay.published();

    long ended = System.nanoTime();
    awaitChange(shortDelay, handled);

    // Rested 50 ms, not the 600 the publication worked.
    assertThat(millisSince(ended)).isBetween(49L, 450L);
  }
}
