package io.signalbox.xds;

import static org.assertj.core.api.Assertions.assertThat;

import io.signalbox.model.Instance;
import io.signalbox.model.PathMatch;
import io.signalbox.model.Registration;
import io.signalbox.model.RegistryState;
import io.signalbox.model.RouteSpec;
import io.signalbox.model.ServiceState;
import io.signalbox.store.InMemoryRegistryStore;
import io.signalbox.store.LeasePolicy;
import io.signalbox.translate.PolicyHandover;
import io.signalbox.translate.XdsResources;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * What the publisher, the history and the quarantine learn by comparing two registry states is the
 * same whether the states name their differences from the registry's change log or every service is
 * compared.
 */
class ServiceComparisonsByChangeLogTest {

  /** The same state without its change log: compared in full. */
  private static RegistryState withoutLog(RegistryState state) {
    return new RegistryState(state.revision(), state.services(), state.changedBy());
  }

  @Test
  void comparisonsByTheLogEqualFullComparisonsOverRandomChanges() {
    Random random = new Random(20261205);
    InMemoryRegistryStore store = new InMemoryRegistryStore(LeasePolicy.DEFAULT, () -> 0L);
    List<String> leases = new ArrayList<>();
    List<RegistryState> served = new ArrayList<>();
    for (int step = 0; step < 400; step++) {
      String service = "svc-" + random.nextInt(8);
      int choice = random.nextInt(10);
      if (choice < 6 || leases.isEmpty()) {
        // Instances with and without a sidecar: a service whose every instance has one moves its
        // policies there, which is what a handover is about.
        int applicationPort = random.nextBoolean() ? 8080 : 0;
        leases.add(
            store
                .register(
                    new Registration(
                        service,
                        new Instance(
                            "i" + random.nextInt(20),
                            "10.0.0." + (1 + random.nextInt(20)),
                            "10.0.0." + (1 + random.nextInt(20)),
                            15006,
                            "",
                            1,
                            Map.of(),
                            applicationPort),
                        List.of(
                            RouteSpec.builder(PathMatch.prefix("/" + service))
                                .auth(io.signalbox.model.AuthRequirement.of("corp"))
                                .build())),
                    Optional.empty())
                .id());
      } else if (choice < 8) {
        store.deregister(leases.remove(random.nextInt(leases.size())));
      } else if (choice < 9) {
        ServiceState current = store.state().services().get(service);
        if (current != null) {
          store.quarantine(service, current, store.state().revision(), "rejected");
        }
      } else if (store.quarantined().containsKey(service)) {
        store.releaseQuarantine(service);
      }
      served.add(store.servedState());
    }

    ContentVersionedSnapshot snapshot = ContentVersionedSnapshot.of(XdsResources.EMPTY);
    int handovers = 0;
    for (int i = 0; i < 1500; i++) {
      RegistryState before = served.get(random.nextInt(served.size()));
      RegistryState after = served.get(random.nextInt(served.size()));

      PolicyHandover byLog = PolicyHandover.between(before, after);
      assertThat(byLog).isEqualTo(PolicyHandover.between(withoutLog(before), withoutLog(after)));
      handovers += byLog.isEmpty() ? 0 : 1;

      assertThat(TrialConfigurations.changedServices(before, after))
          .isEqualTo(TrialConfigurations.changedServices(withoutLog(before), withoutLog(after)));

      SnapshotHistory byLogHistory = new SnapshotHistory(1);
      byLogHistory.record(snapshot, before, after, false, Instant.EPOCH);
      SnapshotHistory fullHistory = new SnapshotHistory(1);
      fullHistory.record(snapshot, withoutLog(before), withoutLog(after), false, Instant.EPOCH);
      assertThat(byLogHistory.latest(1).get(0).services())
          .isEqualTo(fullHistory.latest(1).get(0).services());
    }
    assertThat(handovers).as("some pairs hand policies over").isGreaterThan(100);
  }
}
