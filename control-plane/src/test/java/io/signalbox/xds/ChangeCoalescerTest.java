package io.signalbox.xds;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** When the pipeline publishes, told by the pipeline thread's own calls. */
@Timeout(10)
class ChangeCoalescerTest {

  /**
   * Quiet periods of a second or more: a busy machine's late wake-up, or a thread descheduled for a
   * while, must not be taken for a quiet period that ended.
   */
  private static final Duration QUIET = Duration.ofSeconds(1);

  private final ScheduledExecutorService registrations =
      Executors.newSingleThreadScheduledExecutor();

  @AfterEach
  void stop() {
    registrations.shutdownNow();
  }

  private static long millisSince(long startNanos) {
    return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos);
  }

  /** The first publication begins: a change that finds the pipeline idle. */
  private static long firstPublication(ChangeCoalescer changes, Duration quiet)
      throws InterruptedException {
    changes.published();
    Thread.sleep(quiet.toMillis() + 50);
    changes.signal();
    return changes.awaitChange(0, () -> true);
  }

  @Test
  void aChangeThatFindsThePipelineIdleIsPublishedAtOnce() throws InterruptedException {
    Duration quiet = QUIET;
    ChangeCoalescer changes = new ChangeCoalescer(quiet, Duration.ofSeconds(5));
    changes.published();
    Thread.sleep(quiet.toMillis() + 50);

    changes.signal();
    long started = System.nanoTime();
    long handled = changes.awaitChange(0, () -> true);

    assertThat(handled).isEqualTo(1);
    assertThat(millisSince(started))
        .as("no quiet period to wait for")
        .isLessThan(quiet.toMillis() / 2);
  }

  @Test
  void changesArrivingDuringAPublicationWaitForTheQuietPeriodAndGoOutTogether()
      throws InterruptedException {
    ChangeCoalescer changes = new ChangeCoalescer(QUIET, Duration.ofSeconds(5));
    long handled = firstPublication(changes, QUIET);

    changes.signal(); // during the publication
    changes.published();
    Thread.sleep(100);
    // Read before the signal, which notes its own time after: the quiet period counts from then.
    long secondChange = System.nanoTime();
    changes.signal();
    long next = changes.awaitChange(handled, () -> true);

    assertThat(next).as("both changes in one publication").isEqualTo(3);
    assertThat(millisSince(secondChange))
        .as("the quiet period after the second change")
        .isGreaterThanOrEqualTo(QUIET.toMillis());
  }

  @Test
  void aSteadyStreamOfChangesIsPublishedNoLaterThanTheMaximumDelay() throws InterruptedException {
    // A quiet period longer than the maximum delay: a tick the busy machine delays cannot end the
    // wait before the maximum delay does; without the maximum delay the wait would not end at all.
    Duration quiet = Duration.ofMillis(1500);
    ChangeCoalescer changes = new ChangeCoalescer(quiet, Duration.ofMillis(1000));
    long handled = firstPublication(changes, quiet);

    changes.signal();
    changes.published();
    long ended = System.nanoTime();
    registrations.scheduleAtFixedRate(changes::signal, 0, 10, TimeUnit.MILLISECONDS);
    changes.awaitChange(handled, () -> true);

    assertThat(millisSince(ended)).isBetween(1000L, 3000L);
  }
}
