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

  private static final Duration QUIET = Duration.ofMillis(200);

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
  private static long firstPublication(ChangeCoalescer changes) throws InterruptedException {
    changes.published();
    Thread.sleep(QUIET.toMillis() + 50);
    changes.signal();
    return changes.awaitChange(0, () -> true);
  }

  @Test
  void aChangeThatFindsThePipelineIdleIsPublishedAtOnce() throws InterruptedException {
    // A long quiet period, so that a busy machine's late wake-up is not taken for one.
    Duration quiet = Duration.ofSeconds(1);
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
    long handled = firstPublication(changes);

    changes.signal(); // during the publication
    changes.published();
    Thread.sleep(100);
    changes.signal();
    long secondChange = System.nanoTime();
    long next = changes.awaitChange(handled, () -> true);

    assertThat(next).as("both changes in one publication").isEqualTo(3);
    assertThat(millisSince(secondChange))
        .as("the quiet period after the second change")
        .isGreaterThanOrEqualTo(QUIET.toMillis() - 5);
  }

  @Test
  void aSteadyStreamOfChangesIsPublishedNoLaterThanTheMaximumDelay() throws InterruptedException {
    ChangeCoalescer changes = new ChangeCoalescer(QUIET, Duration.ofMillis(1000));
    long handled = firstPublication(changes);

    changes.signal();
    changes.published();
    long ended = System.nanoTime();
    // Never quiet for 200 ms, even with a late tick or two on a busy machine.
    registrations.scheduleAtFixedRate(changes::signal, 0, 10, TimeUnit.MILLISECONDS);
    changes.awaitChange(handled, () -> true);

    assertThat(millisSince(ended)).isBetween(995L, 3000L);
  }
}
