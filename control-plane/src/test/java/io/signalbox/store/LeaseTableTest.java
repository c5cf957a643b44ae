package io.signalbox.store;

import static org.assertj.core.api.Assertions.assertThat;

import io.signalbox.model.Instance;
import io.signalbox.model.Registration;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;

/**
 * The lease table answers the reaper from the leases that have ended, kept in the order they end;
 * what it answers must be what a look at every lease would answer, whatever renewals, replacements
 * and removals came before.
 */
class LeaseTableTest {

  private static final Predicate<LiveLease> NEVER_RENEWED = lease -> !lease.renewed;

  @Test
  void countsAndExpiredLeasesAreThoseOfAWalkOverEveryLeaseAfterEveryStep() {
    Random random = new Random(13);
    LeaseTable table = new LeaseTable();
    List<LiveLease> indexed = new ArrayList<>();
    long now = 1_000_000_000L;
    int nextId = 0;
    for (int step = 0; step < 5_000; step++) {
      int action = random.nextInt(10);
      if (action < 3 || indexed.isEmpty()) {
        LiveLease lease = lease(random, "lease-" + nextId++, now);
        table.place(lease);
        table.index(lease);
        indexed.add(lease);
      } else if (action < 6) {
        LiveLease lease = indexed.get(random.nextInt(indexed.size()));
        table.extend(lease, now + random.nextInt(5_000));
        lease.renewed = true;
      } else if (action == 6) {
        // A re-registration: the same lease id with a new registration and a new end.
        LiveLease previous = indexed.remove(random.nextInt(indexed.size()));
        LiveLease replacement = lease(random, previous.leaseId, now);
        table.place(replacement);
        table.unindex(previous);
        table.index(replacement);
        indexed.add(replacement);
      } else if (action == 7) {
        table.remove(indexed.remove(random.nextInt(indexed.size())));
      } else {
        now += random.nextInt(1_000);
      }

      long at = now;
      assertThat(table.counts(at)).as("step %d", step).isEqualTo(countsByWalking(indexed, at));
      assertThat(table.expired(at, NEVER_RENEWED))
          .as("step %d", step)
          .containsExactlyInAnyOrderElementsOf(
              indexed.stream()
                  .filter(lease -> lease.expiredAt(at) && NEVER_RENEWED.test(lease))
                  .toList());
    }
  }

  @Test
  void aRenewalMovesALeaseOutOfTheExpiredOnes() {
    LeaseTable table = new LeaseTable();
    LiveLease lease = lease("lease-1", "orders-1", "team-a", 100);
    table.place(lease);
    table.index(lease);
    assertThat(table.counts(150).expired()).isEqualTo(1);

    table.extend(lease, 200);

    assertThat(table.counts(150).expired()).isZero();
    assertThat(table.expired(150, l -> true)).isEmpty();
    assertThat(table.expired(200, l -> true)).containsExactly(lease);
  }

  private static RegistryStore.LeaseCounts countsByWalking(List<LiveLease> leases, long now) {
    int expired = 0;
    int neverRenewed = 0;
    Set<String> identities = new HashSet<>();
    Set<String> expiredIdentities = new HashSet<>();
    for (LiveLease lease : leases) {
      identities.add(lease.registration.registrant());
      if (lease.expiredAt(now)) {
        expired++;
        if (lease.renewed) {
          expiredIdentities.add(lease.registration.registrant());
        } else {
          neverRenewed++;
        }
      }
    }
    return new RegistryStore.LeaseCounts(
        leases.size(), expired, neverRenewed, identities.size(), expiredIdentities.size());
  }

  private static LiveLease lease(Random random, String leaseId, long now) {
    return lease(
        leaseId,
        "instance-" + leaseId,
        "team-" + random.nextInt(4),
        now + random.nextInt(5_000) - 1_000);
  }

  private static LiveLease lease(
      String leaseId, String instanceId, String registrant, long expiresAtNanos) {
    Registration registration =
        new Registration(
            "orders", Instance.of(instanceId, "10.0.0.1", 8080), List.of(), registrant);
    return new LiveLease(
        registration, leaseId, 0, Duration.ofSeconds(10), expiresAtNanos, Instant.EPOCH, 100);
  }
}
