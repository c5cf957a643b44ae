package io.signalbox.store;

import io.etcd.jetcd.Client;
import io.etcd.jetcd.kv.TxnResponse;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.Op;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * etcd calls bounded by one timeout, failing as {@link StoreUnavailableException}; and guarded
 * writes committed in as few transactions as etcd allows.
 */
final class EtcdCalls {

  /**
   * Writes per transaction: each write here is at most two operations and three comparisons, and
   * etcd refuses a transaction of more than {@code --max-txn-ops} (default 128) operations or
   * comparisons; 32 leaves room for an operator who lowered it to 100.
   */
  static final int MAX_WRITES_PER_TRANSACTION = 32;

  private final Client client;
  private final Duration timeout;

  EtcdCalls(Client client, Duration timeout) {
    this.client = client;
    this.timeout = timeout;
  }

  Client client() {
    return client;
  }

  Duration timeout() {
    return timeout;
  }

  /** A write that commits only if all its conditions hold. */
  record GuardedWrite(List<Cmp> conditions, List<Op> operations) {}

  /**
   * Which writes committed (in the order given), and the newest revision at which one committed (0
   * when none did: a failed transaction's revision may be another application's write, which this
   * replica's watch never sees).
   */
  record Committed(List<Boolean> committed, long revision) {

    int count() {
      return (int) committed.stream().filter(Boolean::booleanValue).count();
    }
  }

  /**
   * Commits each write whose conditions hold. Writes go in chunks, one transaction each; a chunk in
   * which any condition fails (a race with another replica) is split in halves and tried again, so
   * one stale write costs a few more transactions, not one per write, and never holds back the
   * others. Writes must touch distinct keys.
   */
  Committed commitAll(List<GuardedWrite> writes, String what) {
    Boolean[] committed = new Boolean[writes.size()];
    long revision = 0;
    for (int from = 0; from < writes.size(); from += MAX_WRITES_PER_TRANSACTION) {
      revision =
          Math.max(
              revision,
              commitSplitting(
                  writes,
                  from,
                  Math.min(writes.size(), from + MAX_WRITES_PER_TRANSACTION),
                  committed,
                  what));
    }
    return new Committed(List.of(committed), revision);
  }

  private long commitSplitting(
      List<GuardedWrite> writes, int from, int to, Boolean[] committed, String what) {
    TxnResponse response = commit(writes.subList(from, to), what);
    if (response.isSucceeded()) {
      java.util.Arrays.fill(committed, from, to, true);
      return response.getHeader().getRevision();
    }
    if (to - from == 1) {
      committed[from] = false;
      return 0;
    }
    int middle = (from + to) >>> 1;
    return Math.max(
        commitSplitting(writes, from, middle, committed, what),
        commitSplitting(writes, middle, to, committed, what));
  }

  private TxnResponse commit(List<GuardedWrite> writes, String what) {
    Cmp[] conditions = writes.stream().flatMap(w -> w.conditions().stream()).toArray(Cmp[]::new);
    Op[] operations = writes.stream().flatMap(w -> w.operations().stream()).toArray(Op[]::new);
    return await(client.getKVClient().txn().If(conditions).Then(operations).commit(), what);
  }

  /** A key or value as etcd takes it. */
  static io.etcd.jetcd.ByteSequence bytes(String text) {
    return io.etcd.jetcd.ByteSequence.from(text, java.nio.charset.StandardCharsets.UTF_8);
  }

  <T> T await(CompletableFuture<T> future, String what) {
    try {
      return future.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      future.cancel(true);
      throw new StoreUnavailableException(
          "etcd did not answer within " + timeout + " to " + what, e);
    } catch (ExecutionException e) {
      Throwable cause = e.getCause() == null ? e : e.getCause();
      if (cause instanceof StoreUnavailableException unavailable) {
        throw unavailable;
      }
      throw new StoreUnavailableException(
          "etcd failed to " + what + ": " + cause.getMessage(), cause);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new StoreUnavailableException("interrupted while waiting for etcd to " + what, e);
    }
  }
}
