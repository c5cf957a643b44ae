package io.signalbox.client;

import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The client's single daemon thread. Every keep-alive state change runs here, which is what lets
 * {@link LeaseKeeper} do without locks. Tasks are guarded so that an unexpected exception is logged
 * instead of silently cancelling a periodic task.
 */
final class ClientScheduler {

  static final String THREAD_NAME = "signalbox-registry-client";

  private static final Logger log = LoggerFactory.getLogger(ClientScheduler.class);

  private final ScheduledThreadPoolExecutor executor;
  private volatile @Nullable Thread thread;

  ClientScheduler() {
    executor =
        new ScheduledThreadPoolExecutor(
            1,
            runnable -> {
              Thread t = new Thread(runnable, THREAD_NAME);
              t.setDaemon(true);
              thread = t;
              return t;
            });
    executor.setRemoveOnCancelPolicy(true);
  }

  /**
   * Hands a task to the scheduler thread; after shutdown (late gRPC callbacks of a closed client)
   * drops it.
   */
  void execute(Runnable task) {
    try {
      executor.execute(guarded(task));
    } catch (RejectedExecutionException e) {
      log.debug("Registry client is closed; dropping a late task");
    }
  }

  ScheduledFuture<?> schedule(Runnable task, Duration delay) {
    return executor.schedule(guarded(task), delay.toNanos(), TimeUnit.NANOSECONDS);
  }

  ScheduledFuture<?> scheduleAtFixedRate(Runnable task, Duration period) {
    long nanos = period.toNanos();
    return executor.scheduleAtFixedRate(guarded(task), nanos, nanos, TimeUnit.NANOSECONDS);
  }

  /**
   * Runs the task on the scheduler thread and waits for it, so that callers on other threads see
   * its effects when this returns. Runs inline when already on that thread (e.g. a listener closing
   * its registration), which would otherwise deadlock.
   */
  void runAndWait(Runnable task, Duration timeout) {
    if (Thread.currentThread() == thread) {
      guarded(task).run();
      return;
    }
    try {
      executor.submit(guarded(task)).get(timeout.toNanos(), TimeUnit.NANOSECONDS);
    } catch (RejectedExecutionException e) {
      log.debug("Registry client is closed; nothing left to run");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (ExecutionException | TimeoutException e) {
      log.warn("Scheduler task did not complete within {} ms", timeout.toMillis(), e);
    }
  }

  /**
   * The scheduler thread itself, for work that needs no guarding by this class (it guards its own
   * tasks).
   */
  ScheduledExecutorService executor() {
    return executor;
  }

  void shutdown() {
    executor.shutdownNow();
  }

  private static Runnable guarded(Runnable task) {
    return () -> {
      try {
        task.run();
      } catch (RuntimeException e) {
        log.error("Unexpected failure in the registry client", e);
      }
    };
  }
}
