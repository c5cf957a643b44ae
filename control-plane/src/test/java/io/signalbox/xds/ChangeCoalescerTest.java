package io.signalbox.xds;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** When the pipeline publishes, told by the pipeline thread's own calls. */
class ChangeCoalescerTest {

  private static final Duration QUIET = Duration.ofMillis(1);
  private static final Duration MAX_DELAY = Duration.ofSeconds(5);

  private final ChangeCoalescer coalescer = new ChangeCoalescer(QUIET, MAX_DELAY);

  private long awaitChange(long handled) throws InterruptedException {
    return coalescer.awaitChange(handled, () -> true);
  }

  private static long millisSince(long startNanos) {
    return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos);
  }

  @Test
  void aChangeThatFindsThePipelineIdleIsPublishedAtOnceHoweverLongTheLastPublicationTook()
      throws InterruptedException {
    coalescer.published();
    Thread.sleep(20);
    coalescer.signal();
    long handled = awaitChange(0);
    Thread.sleep(300);
    coalescer.published();
    Thread.sleep(20);

    coalescer.signal();
    long started = System.nanoTime();
    long next = awaitChange(handled);

    assertThat(next).isEqualTo(2);
    // Resting after the 300 ms publication would have waited until 280 ms from here.
    assertThat(millisSince(started)).isLessThan(150);
  }

  @Test
  void underASteadyStreamThePipelineRestsAsLongAsItsLastPublicationTook()
      throws InterruptedException {
    coalescer.published();
    Thread.sleep(20);
    coalescer.signal();
    long handled = awaitChange(0);

    Thread.sleep(150);
    coalescer.signal(); // during the publication, which took 150 ms
    coalescer.published();
    long ended = System.nanoTime();
    long next = awaitChange(handled);

    assertThat(next).isEqualTo(2);
    assertThat(millisSince(ended)).isGreaterThanOrEqualTo(150);
  }

  @Test
  void theRestNeverExceedsTheMaximumDelay() throws InterruptedException {
    ChangeCoalescer shortDelay = new ChangeCoalescer(QUIET, Duration.ofMillis(50));
    shortDelay.published();
    Thread.sleep(20);
    shortDelay.signal();
    long handled = shortDelay.awaitChange(0, () -> true);
    Thread.sleep(600);
    shortDelay.signal();
    shortDelay.published();

    long ended = System.nanoTime();
    shortDelay.awaitChange(handled, () -> true);

    // Rested 50 ms, not the 600 the publication took.
    assertThat(millisSince(ended)).isBetween(50L, 450L);
  }
}
