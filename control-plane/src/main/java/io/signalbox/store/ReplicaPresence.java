package io.signalbox.store;

import static io.signalbox.store.EtcdCalls.bytes;

import com.google.common.util.concurrent.ThreadFactoryBuilder;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.PutOption;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A replica's mark in etcd, {@code replicas/<name>}, on an etcd lease of a few seconds that the
 * replica keeps alive: the key is there exactly while the replica runs (and can reach etcd). A
 * replica that finds no other replica's mark when it starts knows that nobody renewed leases while
 * the whole tier was down.
 */
final class ReplicaPresence implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(ReplicaPresence.class);

  private final EtcdCalls etcd;

  /**
   * Bounded well under the mark's TTL, so that a slow answer does not let the mark lapse unnoticed.
   */
  private final EtcdCalls keepingAlive;

  private final String name;
  private final Duration ttl;
  private final List<String> others;
  private final ScheduledExecutorService keepAlive =
      Executors.newSingleThreadScheduledExecutor(
          new ThreadFactoryBuilder().setNameFormat("etcd-presence").setDaemon(true).build());
  private volatile long etcdLease;

  private ReplicaPresence(
      EtcdCalls etcd, EtcdCalls keepingAlive, String name, Duration ttl, List<String> others) {
    this.etcd = etcd;
    this.keepingAlive = keepingAlive;
    this.name = name;
    this.ttl = ttl;
    this.others = others;
  }

  /**
   * Looks for other replicas, then marks this one present. A mark with this replica's own name is
   * this replica before a restart, not another one.
   */
  static ReplicaPresence join(EtcdCalls etcd, EtcdCalls keepingAlive, String name, Duration ttl) {
    List<String> others =
        etcd
            .await(
                etcd.client()
                    .getKVClient()
                    .get(
                        bytes(EtcdRegistryStore.REPLICAS),
                        GetOption.builder().isPrefix(true).withKeysOnly(true).build()),
                "list the replicas")
            .getKvs()
            .stream()
            .map(KeyValue::getKey)
            .map(
                key ->
                    key.toString(StandardCharsets.UTF_8)
                        .substring(EtcdRegistryStore.REPLICAS.length()))
            .filter(other -> !other.equals(name))
            .sorted()
            .toList();
    ReplicaPresence presence = new ReplicaPresence(etcd, keepingAlive, name, ttl, others);
    presence.mark();
    long period = Math.max(100, ttl.toMillis() / 4);
    presence.keepAlive.scheduleWithFixedDelay(
        presence::renew, period, period, TimeUnit.MILLISECONDS);
    return presence;
  }

  /** The other replicas that were present when this one joined. */
  List<String> others() {
    return others;
  }

  private void mark() {
    long lease =
        etcd.await(
                etcd.client().getLeaseClient().grant(Math.max(1, ttl.toSeconds())),
                "grant the presence lease of replica " + name)
            .getID();
    etcd.await(
        etcd.client()
            .getKVClient()
            .put(
                bytes(EtcdRegistryStore.REPLICAS + name),
                bytes(name),
                PutOption.builder().withLeaseId(lease).build()),
        "mark replica " + name + " present");
    etcdLease = lease;
  }

  /** Keeps the mark; after etcd let it lapse (an outage longer than its TTL), sets it again. */
  private void renew() {
    try {
      long renewed =
          keepingAlive
              .await(
                  etcd.client().getLeaseClient().keepAliveOnce(etcdLease),
                  "keep replica " + name + " present")
              .getTTL();
      if (renewed <= 0) {
        mark();
      }
    } catch (StoreUnavailableException e) {
      if (String.valueOf(e.getMessage()).contains("lease not found")) {
        try {
          mark();
        } catch (StoreUnavailableException again) {
          log.debug("Replica mark not set yet: {}", again.getMessage());
        }
      } else {
        log.debug("Replica mark not renewed: {}", e.getMessage());
      }
    }
  }

  /**
   * Removes the mark at once, so that a start after a clean shutdown of every replica counts as a
   * cold start.
   */
  @Override
  public void close() {
    keepAlive.shutdownNow();
    try {
      // Briefly: without etcd, the mark lapses by itself within its TTL.
      etcd.client().getLeaseClient().revoke(etcdLease).get(1, TimeUnit.SECONDS);
    } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
      log.debug("Replica mark left to expire: {}", e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
