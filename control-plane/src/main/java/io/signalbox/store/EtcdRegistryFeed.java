package io.signalbox.store;

import static io.signalbox.store.EtcdAppliedKeys.string;
import static io.signalbox.store.EtcdCalls.bytes;
import static io.signalbox.store.EtcdRegistryStore.LEASES;
import static io.signalbox.store.EtcdRegistryStore.ROOT;

import com.google.common.util.concurrent.ThreadFactoryBuilder;
import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.Watch;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.OptionsUtil;
import io.etcd.jetcd.options.PutOption;
import io.etcd.jetcd.options.WatchOption;
import io.etcd.jetcd.watch.WatchResponse;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps a replica's engine and applied keys equal to etcd's registry: reads it whole, in pages at
 * one revision, then follows one watch from the next revision and hands each response's changes to
 * both in etcd's order. When jetcd ends the watch for good it reads the registry whole again.
 */
final class EtcdRegistryFeed implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(EtcdRegistryFeed.class);

  /**
   * Keys per read of the whole registry: 500 leases of a few KB each stay well under gRPC's message
   * limit.
   */
  static final int READ_PAGE_SIZE = 500;

  private final EtcdCalls etcd;
  private final RegistryEngine engine;
  private final EtcdAppliedKeys keys;
  private final int readPageSize;
  private volatile Watch.Watcher watcher;
  private volatile boolean closed;

  /** Reads the registry again when the watch has ended for good. */
  private final ScheduledExecutorService resyncs =
      Executors.newSingleThreadScheduledExecutor(
          new ThreadFactoryBuilder().setNameFormat("etcd-resync").setDaemon(true).build());

  EtcdRegistryFeed(EtcdCalls etcd, RegistryEngine engine, EtcdAppliedKeys keys, int readPageSize) {
    this.etcd = etcd;
    this.engine = engine;
    this.keys = keys;
    this.readPageSize = readPageSize;
  }

  /**
   * Reads the whole registry with {@code calls}, makes the engine and the keys hold exactly that,
   * and follows it from there with a new watch. Returns how many leases there are.
   */
  int readAll(EtcdCalls calls) {
    List<KeyValue> kvs = new ArrayList<>();
    long revision = readPages(calls, kvs);
    kvs.sort(Comparator.comparingLong(KeyValue::getModRevision));
    EtcdAppliedKeys.Changes read = keys.replaceAll(kvs);
    Set<String> gone = new HashSet<>(engine.leaseIds());
    read.puts().forEach(lease -> gone.remove(lease.leaseId()));
    engine.apply(read.puts(), List.copyOf(gone));
    keys.appliedWholeRead(revision, read.guard().orElse(0L));
    this.watcher =
        etcd.client()
            .getWatchClient()
            .watch(
                bytes(ROOT),
                WatchOption.builder().isPrefix(true).withRevision(revision + 1).build(),
                Watch.listener(this::onWatch, this::onWatchError));
    detachFromEtcdLeases(calls, kvs);
    return read.puts().size();
  }

  /**
   * Lease keys written by the first design hang on etcd leases that nothing renews any more: etcd
   * would delete them all about one TTL after the upgrade, at once and past any protection. They
   * are written again without one (only if unchanged since read), and from then on expire like
   * every other lease.
   */
  private void detachFromEtcdLeases(EtcdCalls calls, List<KeyValue> kvs) {
    List<EtcdCalls.GuardedWrite> detach =
        kvs.stream()
            .filter(kv -> kv.getLease() != 0 && string(kv.getKey()).startsWith(LEASES))
            .map(
                kv ->
                    new EtcdCalls.GuardedWrite(
                        List.of(
                            new Cmp(
                                kv.getKey(),
                                Cmp.Op.EQUAL,
                                CmpTarget.modRevision(kv.getModRevision()))),
                        // With its registration order written out: the rewrite's own revision must
                        // not become its order.
                        List.of(
                            Op.put(
                                kv.getKey(),
                                ByteSequence.from(
                                    StoredLeaseCodec.encode(EtcdAppliedKeys.decode(kv))),
                                PutOption.DEFAULT))))
            .toList();
    if (!detach.isEmpty()) {
      try {
        int detached = calls.commitAll(detach, "detach lease keys from etcd leases").count();
        log.info(
            "{} lease key(s) written by an earlier version on etcd leases now expire as Signalbox leases",
            detached);
      } catch (StoreUnavailableException e) {
        // The registry was read: serving it beats refusing to start. The next read of the registry
        // tries again.
        log.warn(
            "{} lease key(s) of an earlier version are still on etcd leases ({}); etcd expires them unless "
                + "they are detached at the next read of the registry",
            detach.size(),
            e.getMessage());
      }
    }
  }

  /**
   * Reads every key under the root, in pages all at the revision of the first: one answer for
   * 10,000 leases went over gRPC's 4 MiB message limit. Returns that revision.
   */
  private long readPages(EtcdCalls calls, List<KeyValue> kvs) {
    ByteSequence end = OptionsUtil.prefixEndOf(bytes(ROOT));
    ByteSequence from = bytes(ROOT);
    long revision = 0;
    while (true) {
      GetOption.Builder page = GetOption.builder().withRange(end).withLimit(readPageSize);
      if (revision > 0) {
        page.withRevision(revision);
      }
      GetResponse response =
          calls.await(etcd.client().getKVClient().get(from, page.build()), "read the registry");
      if (revision == 0) {
        revision = response.getHeader().getRevision();
      }
      kvs.addAll(response.getKvs());
      if (!response.isMore() || response.getKvs().isEmpty()) {
        return revision;
      }
      // Keys come in key order: the next page starts just after the last key read.
      from =
          response
              .getKvs()
              .get(response.getKvs().size() - 1)
              .getKey()
              .concat(ByteSequence.from(new byte[] {0}));
    }
  }

  private void onWatch(WatchResponse response) {
    EtcdAppliedKeys.Changes changes = keys.take(response.getEvents());
    engine.apply(changes.puts(), changes.removals());
    engine.setExpiries(changes.expiries());
    keys.applied(changes.newestRevision(), changes.guard());
  }

  /**
   * jetcd resumes the watch from the last revision it delivered after a lost connection (tested);
   * after a final error (e.g. etcd compacted the revisions this replica missed) it closes the
   * watch, and the replica reads the whole registry again instead of serving a registry that no
   * longer moves.
   */
  private void onWatchError(Throwable error) {
    if (closed) {
      return;
    }
    log.warn("etcd watch: {}", error.getMessage());
    resyncs.schedule(this::resyncIfWatchEnded, 100, TimeUnit.MILLISECONDS);
  }

  private void resyncIfWatchEnded() {
    if (closed || !watcher.isClosed()) {
      return;
    }
    try {
      int leases = readAll(etcd);
      log.warn(
          "etcd watch had ended: registry read again at revision {} ({} lease(s))",
          keys.appliedRevision(),
          leases);
    } catch (RuntimeException e) {
      log.warn(
          "etcd watch had ended and the registry cannot be read yet ({}); trying again",
          e.getMessage());
      resyncs.schedule(this::resyncIfWatchEnded, 1, TimeUnit.SECONDS);
    }
  }

  @Override
  public void close() {
    closed = true;
    resyncs.shutdownNow();
    Watch.Watcher current = watcher;
    if (current != null) {
      current.close();
    }
  }
}
