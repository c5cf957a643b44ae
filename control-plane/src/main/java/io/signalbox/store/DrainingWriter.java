package io.signalbox.store;

import com.google.common.util.concurrent.ThreadFactoryBuilder;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.BooleanSupplier;

/**
 * The one thread that drains a queue of writes for group commit ({@link EtcdRenewals}, {@link
 * EtcdRegistrationBatches}): woken when work is queued, it runs while work is left. Whatever ends a
 * run (an empty queue, or an Error), a queue that still holds work gets a new run, so nobody waits
 * on a writer that is gone. The owner's lock guards the queue and this writer's state alike.
 */
final class DrainingWriter implements AutoCloseable {

  private final Object lock;
  private final BooleanSupplier hasWork;
  private final Runnable drain;
  private final ExecutorService thread;

  /** Guarded by {@link #lock}. */
  private boolean running;

  private boolean closed;

  /**
   * @param lock the owner's lock, held by the owner when it queues work and calls {@link #wake()}
   * @param hasWork asked with {@code lock} held: whether the queue holds work
   * @param drain writes until the queue is empty; called without the lock
   */
  DrainingWriter(String threadName, Object lock, BooleanSupplier hasWork, Runnable drain) {
    this.lock = lock;
    this.hasWork = hasWork;
    this.drain = drain;
    this.thread =
        Executors.newSingleThreadExecutor(
            new ThreadFactoryBuilder().setNameFormat(threadName).setDaemon(true).build());
  }

  /** Starts a run unless one is under way. Call with the owner's lock held, after queueing work. */
  void wake() {
    if (!running && !closed) {
      running = true;
      thread.execute(this::run);
    }
  }

  private void run() {
    try {
      drain.run();
    } finally {
      synchronized (lock) {
        running = false;
        if (hasWork.getAsBoolean()) {
          wake();
        }
      }
    }
  }

  /** Stops for good; the owner fails what is still queued. */
  @Override
  public void close() {
    synchronized (lock) {
      closed = true;
    }
    thread.shutdownNow();
  }
}
