package io.signalbox.xds;

import static org.assertj.core.api.Assertions.assertThat;

import io.signalbox.config.GatewaySettings;
import io.signalbox.model.Instance;
import io.signalbox.model.PathMatch;
import io.signalbox.model.RegistryState;
import io.signalbox.model.RouteSpec;
import io.signalbox.model.ServiceState;
import io.signalbox.translate.GatewayTranslator;
import io.signalbox.xds.SnapshotHistory.Entry;
import io.signalbox.xds.SnapshotHistory.ServiceChange;
import io.signalbox.xds.SnapshotHistory.TypeChanges;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * The published snapshots' history: what each changed, which services caused it, diffs, and its
 * bound.
 */
class SnapshotHistoryTest {

  private static final Instant T0 = Instant.parse("2025-01-01T00:00:00Z");

  private final GatewayTranslator translator = new GatewayTranslator();
  private final SnapshotHistory history = new SnapshotHistory(3);
  private RegistryState previous;
  private long revision;

  private static ServiceState service(String name, String... instanceIds) {
    return new ServiceState(
        name,
        List.of(RouteSpec.builder(PathMatch.prefix("/" + name)).build()),
        java.util.Arrays.stream(instanceIds).map(id -> Instance.of(id, "10.0.0.1", 8080)).toList());
  }

  private Entry publish(ServiceState... services) {
    TreeMap<String, ServiceState> byName = new TreeMap<>();
    for (ServiceState service : services) {
      byName.put(service.name(), service);
    }
    RegistryState state = new RegistryState(++revision, byName);
    ContentVersionedSnapshot snapshot =
        ContentVersionedSnapshot.of(translator.translate(state, GatewaySettings.DEFAULT));
    history.record(snapshot, previous, state, false, T0.plusSeconds(revision));
    previous = state;
    return history.latest(1).get(0);
  }

  @Test
  void theFirstSnapshotAddsEverythingAndEveryService() {
    Entry first = publish(service("orders", "o1"));

    assertThat(first.initial()).isTrue();
    assertThat(first.services()).containsExactly(Map.entry("orders", ServiceChange.ADDED));
    assertThat(first.changes()).containsOnlyKeys("clusters", "endpoints", "listeners", "routes");
    assertThat(first.changes().get("clusters").added()).containsExactly("svc-orders");
    assertThat(first.publishedAt()).isEqualTo(T0.plusSeconds(1));
  }

  @Test
  void anEntryNamesTheServicesThatChangedAndTheResourcesTheyChanged() {
    ServiceState orders = service("orders", "o1");
    publish(orders, service("users", "u1"));

    Entry second = publish(orders, service("users", "u1", "u2"), service("billing", "b1"));

    assertThat(second.initial()).isFalse();
    assertThat(second.services())
        .containsExactly(
            Map.entry("billing", ServiceChange.ADDED), Map.entry("users", ServiceChange.MODIFIED));
    assertThat(second.changes().get("clusters"))
        .isEqualTo(new TypeChanges(List.of("svc-billing"), List.of(), List.of()));
    assertThat(second.changes().get("endpoints"))
        .isEqualTo(new TypeChanges(List.of("svc-billing"), List.of(), List.of("svc-users")));
    assertThat(second.changes()).doesNotContainKey("listeners");
  }

  @Test
  void aRemovedServiceIsNamedAsRemoved() {
    publish(service("orders", "o1"), service("users", "u1"));

    Entry second = publish(service("orders", "o1"));

    assertThat(second.services()).containsExactly(Map.entry("users", ServiceChange.REMOVED));
    assertThat(second.changes().get("clusters").removed()).containsExactly("svc-users");
  }

  @Test
  void anyTwoRecordedSnapshotsCanBeDiffed() {
    Entry first = publish(service("orders", "o1"));
    publish(service("orders", "o1"), service("users", "u1"));
    Entry third = publish(service("orders", "o1", "o2"), service("users", "u1"));

    assertThat(SnapshotHistory.diff(first, third).get("endpoints"))
        .isEqualTo(new TypeChanges(List.of("svc-users"), List.of(), List.of("svc-orders")));
    assertThat(SnapshotHistory.diff(third, first).get("clusters").removed())
        .containsExactly("svc-users");
    assertThat(SnapshotHistory.diff(third, third)).isEmpty();
  }

  @Test
  void keepsOnlyTheNewestEntriesNewestFirst() {
    Entry first = publish(service("a", "1"));
    publish(service("b", "1"));
    publish(service("c", "1"));
    Entry fourth = publish(service("d", "1"));

    assertThat(history.latest(10)).hasSize(3).first().isEqualTo(fourth);
    assertThat(history.find(first.version())).isEmpty();
    assertThat(history.find(fourth.version())).contains(fourth);
  }

  @Test
  void anUnchangedTypeSharesItsVersionsWithTheEntryBefore() {
    Entry first = publish(service("orders", "o1"));

    Entry second = publish(service("orders", "o1", "o2"));

    assertThat(second.resourceVersions().get("clusters"))
        .isSameAs(first.resourceVersions().get("clusters"));
    assertThat(second.changes()).containsOnlyKeys("endpoints");
  }

  @Test
  void everyEntryHoldsItsSnapshotsVersionsAndChangedServicesThoughItStoresOnlyWhatChanged() {
    java.util.Random random = new java.util.Random(3);
    TreeMap<String, ServiceState> services = new TreeMap<>();
    for (int step = 0; step < 200; step++) {
      String name = "svc" + random.nextInt(8);
      switch (random.nextInt(3)) {
        case 0 -> services.remove(name);
        case 1 -> services.put(name, service(name, "i" + random.nextInt(3)));
        default -> services.put(name, service(name, "i1", "i" + random.nextInt(3)));
      }
      RegistryState state = new RegistryState(++revision, services);
      ContentVersionedSnapshot snapshot =
          ContentVersionedSnapshot.of(translator.translate(state, GatewaySettings.DEFAULT));
      Map<String, ServiceChange> serviceChanges = new TreeMap<>();
      Map<String, ServiceState> before = previous == null ? Map.of() : previous.services();
      state
          .services()
          .forEach(
              (n, s) -> {
                if (!before.containsKey(n)) {
                  serviceChanges.put(n, ServiceChange.ADDED);
                } else if (!before.get(n).equals(s)) {
                  serviceChanges.put(n, ServiceChange.MODIFIED);
                }
              });
      before.keySet().stream()
          .filter(n -> !state.services().containsKey(n))
          .forEach(n -> serviceChanges.put(n, ServiceChange.REMOVED));
      history.record(snapshot, previous, state, false, T0.plusSeconds(revision));
      previous = state;

      Entry entry = history.latest(1).get(0);
      assertThat(entry.services()).as("step %d", step).isEqualTo(serviceChanges);
      for (io.envoyproxy.controlplane.cache.Resources.ResourceType type :
          io.signalbox.envoy.XdsTypes.ALL) {
        Map<String, String> expected = new TreeMap<>();
        snapshot
            .versionedResources(type)
            .forEach(
                (resourceName, resource) ->
                    expected.put(
                        (String) resourceName,
                        ((io.envoyproxy.controlplane.cache.VersionedResource<?>) resource)
                            .version()));
        assertThat(entry.resourceVersions().get(io.signalbox.envoy.XdsTypes.shortName(type)))
            .as("step %d, %s", step, type)
            .isEqualTo(expected);
      }
    }
  }
}
