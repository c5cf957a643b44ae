package io.signalbox.store;

import io.signalbox.model.Registration;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Consumer;

/**
 * Registrations waiting for etcd, written by one thread with group commit: registrations that arrive while a
 * registration transaction is in flight share the next one. Which of them may share it, and the transaction itself,
 * are the store's ({@link EtcdRegistryStore}); here is only the queue, in arrival order, and the thread that keeps
 * emptying it. A registration stays queued, in its place, until its answer is given: one that has to wait for the
 * next transaction (or is tried again after a lost race) keeps its turn ahead of later arrivals.
 */
final class EtcdRegistrationBatches implements AutoCloseable {

  /** One registration waiting for its answer, with what its earlier attempts learnt. */
  static final class Pending {
    final Registration registration;
    final Duration ttl;
    final CompletableFuture<Lease> answer = new CompletableFuture<>();
    /** A lease of the instance found removed by an earlier attempt: not to be written again. */
    String goneLease;
    int attempts;

    Pending(Registration registration, Duration ttl) {
      this.registration = registration;
      this.ttl = ttl;
    }
  }

  private final Consumer<List<Pending>> writeBatch;
  private final ExecutorService writer = Executors.newSingleThreadExecutor(runnable -> {
    Thread thread = new Thread(runnable, "etcd-registrations");
    thread.setDaemon(true);
    return thread;
  });
  /** Registrations not yet answered, in arrival order; guarded by {@code this}. */
  private final List<Pending> pending = new ArrayList<>();
  private boolean writing;
  private boolean closed;

  /**
   * @param writeBatch given the registrations waiting, in arrival order, answers at least the first of them (or
   *     counts an attempt for it): it picks which share one transaction, commits it and answers them
   */
  EtcdRegistrationBatches(Consumer<List<Pending>> writeBatch) {
    this.writeBatch = writeBatch;
  }

  /** Completes with the lease once this replica applied the registration's commit, or with why it failed. */
  CompletableFuture<Lease> register(Registration registration, Duration ttl) {
    Pending registering = new Pending(registration, ttl);
    synchronized (this) {
      if (closed) {
        registering.answer.completeExceptionally(new StoreUnavailableException("the etcd store is closed", null));
        return registering.answer;
      }
      pending.add(registering);
      if (!writing) {
        writing = true;
        writer.execute(this::writePending);
      }
    }
    return registering.answer;
  }

  private void writePending() {
    try {
      writeUntilNoneLeft();
    } finally {
      // Also after an Error: the next registration starts a writer again instead of waiting for one that is gone.
      synchronized (this) {
        pending.removeIf(registering -> registering.answer.isDone());
        writing = false;
        if (!pending.isEmpty() && !closed) {
          writing = true;
          writer.execute(this::writePending);
        }
      }
    }
  }

  private void writeUntilNoneLeft() {
    while (true) {
      List<Pending> waiting;
      synchronized (this) {
        pending.removeIf(registering -> registering.answer.isDone());
        if (pending.isEmpty() || closed) {
          return;
        }
        waiting = List.copyOf(pending);
      }
      try {
        writeBatch.accept(waiting);
      } catch (RuntimeException | Error e) {
        // Nobody waits for ever on a writer that failed unexpectedly.
        waiting.forEach(registering -> registering.answer.completeExceptionally(e));
        if (e instanceof Error error) {
          throw error;
        }
      }
    }
  }

  @Override
  public void close() {
    List<Pending> abandoned;
    synchronized (this) {
      closed = true;
      abandoned = List.copyOf(pending);
      pending.clear();
    }
    writer.shutdownNow();
    StoreUnavailableException closing = new StoreUnavailableException("the etcd store is closed", null);
    abandoned.forEach(registering -> registering.answer.completeExceptionally(closing));
  }
}
