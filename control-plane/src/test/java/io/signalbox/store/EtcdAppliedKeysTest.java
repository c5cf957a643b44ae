package io.signalbox.store;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.watch.WatchEvent;
import io.signalbox.model.Instance;
import io.signalbox.model.Registration;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * A replica's applied keys answer the reaper from the leases that have ended, kept in the order
 * they end as leases, renewals and cold starts come and go; what they answer must be what a look at
 * every lease would answer.
 */
class EtcdAppliedKeysTest {

  private static final String REPLICA = "replica-a";
  private static final Instant START = Instant.parse("2026-12-07T12:00:00Z");

  @Test
  void expiredLeasesAreThoseOfAWalkOverEveryLeaseAfterEveryWatchResponse() {
    run(Optional.empty(), new Random(7));
  }

  @Test
  void soTheyAreWithAGraceAfterColdStartsShorterThanTheTtls() {
    run(Optional.of(Duration.ofSeconds(3)), new Random(8));
  }

  private static void run(Optional<Duration> grace, Random random) {
    EtcdAppliedKeys keys = new EtcdAppliedKeys(grace, Duration.ofSeconds(1));
    Model model = new Model(grace);
    long revision = 1;
    keys.take(List.of(put(EtcdRegistryStore.REPLICAS + REPLICA, "", revision++)));
    Instant now = START;
    for (int step = 0; step < 1_500; step++) {
      List<WatchEvent> events = new ArrayList<>();
      int count = 1 + random.nextInt(3);
      for (int i = 0; i < count; i++) {
        String leaseId = "lease-" + random.nextInt(25);
        Instant at = now.plusMillis(random.nextInt(20_000) - 5_000);
        int action = random.nextInt(20);
        if (action < 7) {
          Duration ttl = Duration.ofSeconds(1 + random.nextInt(10));
          events.add(put(EtcdRegistryStore.LEASES + leaseId, lease(leaseId, ttl, at), revision++));
          model.leases.put(leaseId, new Model.Lease(at, ttl));
        } else if (action < 13) {
          events.add(
              put(
                  EtcdRegistryStore.RENEWALS + leaseId,
                  Long.toString(at.toEpochMilli()),
                  revision++));
          model.renewals.put(leaseId, Instant.ofEpochMilli(at.toEpochMilli()));
        } else if (action < 16) {
          events.add(delete(EtcdRegistryStore.LEASES + leaseId, revision++));
          model.leases.remove(leaseId);
        } else if (action < 19) {
          events.add(delete(EtcdRegistryStore.RENEWALS + leaseId, revision++));
          model.renewals.remove(leaseId);
        } else {
          events.add(
              put(EtcdRegistryStore.COLD_START, Long.toString(at.toEpochMilli()), revision++));
          model.coldStart = Instant.ofEpochMilli(at.toEpochMilli());
        }
      }
      keys.take(events);
      now = now.plusMillis(random.nextInt(1_500));

      assertThat(keys.leaseCounts(now))
          .as("step %d", step)
          .isEqualTo(new RegistryStore.LeaseCounts(model.leases.size(), model.ended(now).size()));
      assertThat(keys.expirySweep(REPLICA, now).leases())
          .as("step %d", step)
          .extracting(EtcdAppliedKeys.ExpiredLease::leaseId)
          .containsExactlyInAnyOrderElementsOf(model.ended(now));
    }
  }

  /** The keys as plain maps, each lease's end found by walking them all. */
  private static final class Model {
    record Lease(Instant expiresAt, Duration ttl) {}

    final Optional<Duration> grace;
    final Map<String, Lease> leases = new HashMap<>();
    final Map<String, Instant> renewals = new HashMap<>();
    Instant coldStart;

    Model(Optional<Duration> grace) {
      this.grace = grace;
    }

    List<String> ended(Instant now) {
      List<String> ended = new ArrayList<>();
      leases.forEach(
          (leaseId, lease) -> {
            Instant end = lease.expiresAt();
            Instant renewal = renewals.get(leaseId);
            if (renewal != null && renewal.isAfter(end)) {
              end = renewal;
            }
            if (coldStart != null && coldStart.plus(grace.orElse(lease.ttl())).isAfter(end)) {
              end = coldStart.plus(grace.orElse(lease.ttl()));
            }
            if (!end.isAfter(now)) {
              ended.add(leaseId);
            }
          });
      return ended;
    }
  }

  private static ByteString lease(String leaseId, Duration ttl, Instant expiresAt) {
    Registration registration =
        new Registration(
            "orders", Instance.of("instance-" + leaseId, "10.0.0.1", 8080), List.of(), "team-a");
    return ByteString.copyFrom(
        StoredLeaseCodec.encode(
            new StoredLease(registration, leaseId, 0, ttl, START, expiresAt, false, false)));
  }

  private static WatchEvent put(String key, String value, long revision) {
    return put(key, ByteString.copyFromUtf8(value), revision);
  }

  private static WatchEvent put(String key, ByteString value, long revision) {
    return new WatchEvent(keyValue(key, value, revision), null, WatchEvent.EventType.PUT);
  }

  private static WatchEvent delete(String key, long revision) {
    return new WatchEvent(
        keyValue(key, ByteString.EMPTY, revision), null, WatchEvent.EventType.DELETE);
  }

  private static KeyValue keyValue(String key, ByteString value, long revision) {
    return new KeyValue(
        io.etcd.jetcd.api.KeyValue.newBuilder()
            .setKey(ByteString.copyFromUtf8(key))
            .setValue(value)
            .setModRevision(revision)
            .build(),
        ByteSequence.EMPTY);
  }
}
