package io.signalbox.store;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;

/**
 * Group commit: callers queue their items, and one caller at a time (the leader) takes everything
 * queued and commits it as one group, while the others wait parked for their own item.
 *
 * <p>Why not every caller taking the committer's lock in turn: with dozens of Register calls in
 * flight, each one then queued on that lock only to find its item committed by an earlier holder,
 * and a contended Java monitor spins before it parks: on two cores the waiting callers burnt the
 * CPU the leader needed. Here a waiter parks at once and is woken once, either because its item is
 * committed or because it is the oldest waiter when a leader is done (it then leads the next
 * group), so every item queued is committed by some leader.
 *
 * @param <T> what is committed
 */
final class GroupCommit<T> {

  private final Consumer<List<T>> commit;
  private final ConcurrentLinkedQueue<Waiter<T>> queue = new ConcurrentLinkedQueue<>();
  private final ReentrantLock leading = new ReentrantLock();

  /**
   * @param commit commits a group in queue order; called by one leader at a time. What it throws is
   *     thrown to every caller of the group.
   */
  GroupCommit(Consumer<List<T>> commit) {
    this.commit = commit;
  }

  /** Queues the item and returns once a group holding it has been committed. */
  void submit(T item) {
    Waiter<T> mine = new Waiter<>(item, Thread.currentThread());
    queue.add(mine);
    boolean interrupted = false;
    while (!mine.done) {
      if (leading.tryLock()) {
        try {
          if (!mine.done) {
            commitQueued();
          }
        } finally {
          leading.unlock();
        }
        // Whatever was queued after this leader took its group waits for a leader: the oldest
        // waiter becomes it (unless another caller took the lead meanwhile; then it wakes again
        // after that one).
        Waiter<T> next = queue.peek();
        if (next != null) {
          LockSupport.unpark(next.thread);
        }
      } else {
        LockSupport.park(this);
        // Parking returns at once while the interrupt flag is set: remember it, wait on.
        interrupted |= Thread.interrupted();
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
    if (mine.failure != null) {
      throw mine.failure;
    }
  }

  private void commitQueued() {
    List<Waiter<T>> group = new ArrayList<>();
    for (Waiter<T> waiter; (waiter = queue.poll()) != null; ) {
      group.add(waiter);
    }
    RuntimeException failure = null;
    try {
      commit.accept(group.stream().map(waiter -> waiter.item).toList());
    } catch (RuntimeException e) {
      failure = e;
    } finally {
      for (Waiter<T> waiter : group) {
        waiter.failure = failure;
        waiter.done = true;
        LockSupport.unpark(waiter.thread);
      }
    }
  }

  private static final class Waiter<T> {
    final T item;
    final Thread thread;
    RuntimeException failure;

    /** Written after {@link #failure}; read first: it publishes the failure. */
    volatile boolean done;

    Waiter(T item, Thread thread) {
      this.item = item;
      this.thread = thread;
    }
  }
}
