package io.signalbox.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.signalbox.model.Instance;
import io.signalbox.model.PathMatch;
import io.signalbox.model.Registration;
import io.signalbox.model.RouteSpec;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The health an instance reports of itself (SERVING / NOT_SERVING) in the embedded store: it marks
 * the instance in its service's state without removing it, belongs to the lease, survives a restart
 * and can be set by the lease's owner only.
 */
class ServingStatusTest {

  private static Registration orders(String instanceId, String registrant) {
    return new Registration(
        "orders",
        Instance.of(instanceId, "10.0.0.1", 8080),
        List.of(RouteSpec.builder(PathMatch.prefix("/orders")).build()),
        registrant);
  }

  @Test
  void aNotServingInstanceStaysInTheServiceMarkedAndServesAgainWhenItSaysSo() {
    InMemoryRegistryStore store = new InMemoryRegistryStore(LeasePolicy.DEFAULT);
    Lease lease = store.register(orders("o1", ""), Optional.empty());
    store.register(orders("o2", ""), Optional.empty());
    long revision = store.state().revision();

    assertThat(store.setServing(lease.id(), false, "")).isTrue();

    assertThat(store.state().services().get("orders").instances()).hasSize(2);
    assertThat(store.state().services().get("orders").notServing()).containsExactly("o1");
    assertThat(store.state().revision()).isGreaterThan(revision);
    assertThat(store.registeredInstances())
        .filteredOn(i -> i.instance().id().equals("o1"))
        .extracting(RegisteredInstance::notServing)
        .containsExactly(true);

    store.register(orders("o1", ""), Optional.empty());
    assertThat(store.state().services().get("orders").notServing())
        .as("the status belongs to the lease")
        .containsExactly("o1");

    assertThat(store.setServing(lease.id(), true, "")).isTrue();
    assertThat(store.state().services().get("orders").notServing()).isEmpty();
  }

  @Test
  void anUnknownLeaseIsNotFoundAndAnotherIdentitysLeaseIsRefused() {
    InMemoryRegistryStore store = new InMemoryRegistryStore(LeasePolicy.DEFAULT);
    Lease lease = store.register(orders("o1", "spiffe://example.org/orders"), Optional.empty());

    assertThat(store.setServing("no-such-lease", false, "")).isFalse();
    assertThatThrownBy(() -> store.setServing(lease.id(), false, "spiffe://example.org/users"))
        .isInstanceOf(NotLeaseOwnerException.class);
    assertThat(store.state().services().get("orders").notServing()).isEmpty();
  }

  @Test
  void theStatusSurvivesARestart(@TempDir Path dataDir) {
    MvStoreJournal journal = MvStoreJournal.open(dataDir);
    InMemoryRegistryStore store =
        InMemoryRegistryStore.restore(LeasePolicy.DEFAULT, journal, Optional.empty());
    Lease lease = store.register(orders("o1", ""), Optional.empty());
    store.setServing(lease.id(), false, "");
    journal.close();

    try (MvStoreJournal reopened = MvStoreJournal.open(dataDir)) {
      InMemoryRegistryStore restored =
          InMemoryRegistryStore.restore(LeasePolicy.DEFAULT, reopened, Optional.empty());
      assertThat(restored.state().services().get("orders").notServing()).containsExactly("o1");
    }
  }
}
