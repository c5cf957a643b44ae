package io.signalbox.store;

import io.etcd.jetcd.Client;
import io.etcd.jetcd.kv.TxnResponse;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.Op;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * etcd calls bounded by one timeout, failing as {@link StoreUnavailableException}; and guarded writes committed in as
 * few transactions as etcd allows.
 */
final class EtcdCalls {

  /**
   * Writes per transaction: each write here is at most two operations and etcd refuses a transaction of more than
   * {@code --max-txn-ops} (default 128) operations or comparisons.
   */
  static final int MAX_WRITES_PER_TRANSACTION = 64;

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
  record GuardedWrite(List<Cmp> conditions, List<Op> operations) {
  }

  /** Which writes committed (in the order given), and the newest revision etcd answered with. */
  record Committed(List<Boolean> committed, long revision) {

    int count() {
      return (int) committed.stream().filter(Boolean::booleanValue).count();
    }
  }

  /**
   * Commits each write whose conditions hold. Writes go in chunks, one transaction each; a chunk in which any
   * condition fails (rare: a race with another replica) is tried again write by write, so one stale write never
   * holds back the others. Writes must touch distinct keys.
   */
  Committed commitAll(List<GuardedWrite> writes, String what) {
    List<Boolean> committed = new ArrayList<>(writes.size());
    long revision = 0;
    for (int from = 0; from < writes.size(); from += MAX_WRITES_PER_TRANSACTION) {
      List<GuardedWrite> chunk = writes.subList(from, Math.min(writes.size(), from + MAX_WRITES_PER_TRANSACTION));
      TxnResponse response = commit(chunk, what);
      revision = Math.max(revision, response.getHeader().getRevision());
      if (response.isSucceeded()) {
        chunk.forEach(write -> committed.add(true));
        continue;
      }
      for (GuardedWrite write : chunk) {
        TxnResponse single = chunk.size() == 1 ? response : commit(List.of(write), what);
        revision = Math.max(revision, single.getHeader().getRevision());
        committed.add(single.isSucceeded());
      }
    }
    return new Committed(List.copyOf(committed), revision);
  }

  private TxnResponse commit(List<GuardedWrite> writes, String what) {
    Cmp[] conditions = writes.stream().flatMap(w -> w.conditions().stream()).toArray(Cmp[]::new);
    Op[] operations = writes.stream().flatMap(w -> w.operations().stream()).toArray(Op[]::new);
    return await(client.getKVClient().txn().If(conditions).Then(operations).commit(), what);
  }

  <T> T await(CompletableFuture<T> future, String what) {
    try {
      return future.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      future.cancel(true);
      throw new StoreUnavailableException("etcd did not answer within " + timeout + " to " + what, e);
    } catch (ExecutionException e) {
      Throwable cause = e.getCause() == null ? e : e.getCause();
      if (cause instanceof StoreUnavailableException unavailable) {
        throw unavailable;
      }
      throw new StoreUnavailableException("etcd failed to " + what + ": " + cause.getMessage(), cause);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new StoreUnavailableException("interrupted while waiting for etcd to " + what, e);
    }
  }
}
