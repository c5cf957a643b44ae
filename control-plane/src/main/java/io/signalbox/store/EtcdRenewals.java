package io.signalbox.store;

import static io.signalbox.store.EtcdCalls.bytes;

import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.PutOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * Writes lease renewals to etcd with group commit: a renewal waits for the transaction that writes
 * it, and renewals that arrive while one transaction is in flight share the next. So a quiet
 * replica writes each keep-alive at once, and a busy one (10,000 instances renew about 3,000 times
 * a second) writes them 32 to a transaction instead of one round-trip each.
 *
 * <p>A renewal writes {@code renewals/<lease id>} → its new expiry (epoch milliseconds), only while
 * the lease key exists: a renewal never brings back a lease that was just removed.
 */
final class EtcdRenewals implements AutoCloseable {

  private final EtcdCalls etcd;

  /** Renewals not yet in a transaction, by lease id; guarded by {@code this}. */
  private final Map<String, Pending> pending = new LinkedHashMap<>();

  private boolean closed;
  private final DrainingWriter writer =
      new DrainingWriter("etcd-renewals", this, () -> !pending.isEmpty(), this::writeUntilNoneLeft);

  EtcdRenewals(EtcdCalls etcd) {
    this.etcd = etcd;
  }

  /**
   * Completes with true once etcd holds the renewal, false when the lease no longer exists there.
   */
  CompletableFuture<Boolean> renew(String leaseId, Instant expiresAt) {
    CompletableFuture<Boolean> done = new CompletableFuture<>();
    synchronized (this) {
      if (closed) {
        done.completeExceptionally(new StoreUnavailableException("the etcd store is closed", null));
        return done;
      }
      Pending renewal = pending.computeIfAbsent(leaseId, id -> new Pending(id));
      if (expiresAt.isAfter(renewal.expiresAt)) {
        renewal.expiresAt = expiresAt;
      }
      renewal.waiting.add(done);
      writer.wake();
    }
    return done;
  }

  private void writeUntilNoneLeft() {
    while (true) {
      List<Pending> batch = new ArrayList<>();
      synchronized (this) {
        var iterator = pending.values().iterator();
        while (iterator.hasNext() && batch.size() < EtcdCalls.MAX_WRITES_PER_TRANSACTION) {
          batch.add(iterator.next());
          iterator.remove();
        }
        if (batch.isEmpty()) {
          return;
        }
      }
      List<EtcdCalls.GuardedWrite> writes = batch.stream().map(EtcdRenewals::write).toList();
      try {
        EtcdCalls.Committed committed =
            etcd.commitAll(writes, "renew " + batch.size() + " lease(s)");
        for (int i = 0; i < batch.size(); i++) {
          boolean renewed = committed.committed().get(i);
          batch.get(i).waiting.forEach(future -> future.complete(renewed));
        }
      } catch (RuntimeException | Error e) {
        batch.forEach(
            renewal -> renewal.waiting.forEach(future -> future.completeExceptionally(e)));
        if (e instanceof Error error) {
          throw error;
        }
      }
    }
  }

  private static EtcdCalls.GuardedWrite write(Pending renewal) {
    return new EtcdCalls.GuardedWrite(
        List.of(
            new Cmp(
                bytes(EtcdRegistryStore.LEASES + renewal.leaseId),
                Cmp.Op.GREATER,
                CmpTarget.version(0))),
        List.of(
            Op.put(
                bytes(EtcdRegistryStore.RENEWALS + renewal.leaseId),
                bytes(Long.toString(renewal.expiresAt.toEpochMilli())),
                PutOption.DEFAULT)));
  }

  @Override
  public void close() {
    List<Pending> abandoned;
    synchronized (this) {
      closed = true;
      abandoned = List.copyOf(pending.values());
      pending.clear();
    }
    writer.close();
    StoreUnavailableException closing =
        new StoreUnavailableException("the etcd store is closed", null);
    abandoned.forEach(
        renewal -> renewal.waiting.forEach(future -> future.completeExceptionally(closing)));
  }

  private static final class Pending {
    final String leaseId;
    final List<CompletableFuture<Boolean>> waiting = new ArrayList<>();
    Instant expiresAt = Instant.EPOCH;

    Pending(String leaseId) {
      this.leaseId = leaseId;
    }
  }
}
