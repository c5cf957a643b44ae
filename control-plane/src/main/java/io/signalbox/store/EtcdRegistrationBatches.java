package io.signalbox.store;

import io.signalbox.model.Registration;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/**
 * Registrations waiting for etcd, written by one thread with group commit: registrations that
 * arrive while a registration transaction is in flight share the next one. Which of them may share
 * it, and the transaction itself, are the store's ({@link EtcdRegistryStore}); here is only the
 * queue, in arrival order, and the thread that keeps emptying it. A registration stays queued, in
 * its place, until its answer is given: one that has to wait for the next transaction (or is tried
 * again after a lost race) is looked at again first. Registrations of one instance commit in
 * arrival order; concurrent registrations otherwise commit in an order that running them one after
 * another could have given, not necessarily the order they arrived in.
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

    /** How many bytes its lease value takes in a transaction, measured once. */
    final int bytes;

    Pending(Registration registration, Duration ttl) {
      this.registration = registration;
      this.ttl = ttl;
      // Any time of this era encodes to within a few bytes of the one the writer will write.
      java.time.Instant now = java.time.Instant.now();
      this.bytes =
          StoredLeaseCodec.encode(
                  new StoredLease(registration, Lease.newId(), 0, ttl, now, now, false, false))
              .length;
    }
  }

  private final Consumer<List<Pending>> writeBatch;
  private final DrainingWriter writer =
      new DrainingWriter("etcd-registrations", this, this::hasWork, this::writeUntilNoneLeft);

  /** Registrations not yet answered, in arrival order; guarded by {@code this}. */
  private final List<Pending> pending = new ArrayList<>();

  private boolean closed;

  /**
   * @param writeBatch given the registrations waiting, in arrival order, answers at least the first
   *     of them (or counts an attempt for it): it picks which share one transaction, commits it and
   *     answers them
   */
  EtcdRegistrationBatches(Consumer<List<Pending>> writeBatch) {
    this.writeBatch = writeBatch;
  }

  /**
   * Completes with the lease once this replica applied the registration's commit, or with why it
   * failed.
   */
  CompletableFuture<Lease> register(Registration registration, Duration ttl) {
    Pending registering = new Pending(registration, ttl);
    synchronized (this) {
      if (closed) {
        registering.answer.completeExceptionally(
            new StoreUnavailableException("the etcd store is closed", null));
        return registering.answer;
      }
      pending.add(registering);
      writer.wake();
    }
    return registering.answer;
  }

  /** With the lock held. */
  private boolean hasWork() {
    pending.removeIf(registering -> registering.answer.isDone());
    return !pending.isEmpty();
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
        // The batch's members have their answer already; the first waiting one gets this failure,
        // so that the
        // writer moves on instead of meeting it again, and the others are tried as usual.
        waiting.get(0).answer.completeExceptionally(e);
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
    writer.close();
    StoreUnavailableException closing =
        new StoreUnavailableException("the etcd store is closed", null);
    abandoned.forEach(registering -> registering.answer.completeExceptionally(closing));
  }
}
