package io.signalbox.xds;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.envoyproxy.controlplane.cache.Resources.ResourceType;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.signalbox.config.GatewaySettings;
import io.signalbox.model.Instance;
import io.signalbox.model.PathMatch;
import io.signalbox.model.Registration;
import io.signalbox.model.RouteSpec;
import io.signalbox.model.TrafficPolicy;
import io.signalbox.store.InMemoryRegistryStore;
import io.signalbox.store.LeasePolicy;
import io.signalbox.translate.GatewayTranslator;
import io.signalbox.translate.XdsNames;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * Envoys that declare a zone form groups of their own ({@code edge@zone-a}) and are sent the
 * fleet's snapshot with their zone's instances first, for services that prefer the local zone.
 */
class ZoneViewTest {

  private static final String USERS = XdsNames.serviceCluster("users");

  private static Registration users(String id, String address, String zone, boolean preferLocal) {
    Registration registration =
        new Registration(
            "users",
            new Instance(id, address, address, 8080, zone, 1, Map.of()),
            List.of(RouteSpec.builder(PathMatch.prefix("/users")).build()));
    return preferLocal
        ? registration.withTraffic(
            new TrafficPolicy(
                TrafficPolicy.LoadBalancer.ROUND_ROBIN,
                Optional.empty(),
                Optional.empty(),
                Optional.empty(),
                Optional.empty(),
                Optional.empty(),
                Optional.empty(),
                true))
        : registration;
  }

  private static InMemoryRegistryStore twoZones(boolean preferLocal) {
    InMemoryRegistryStore store = new InMemoryRegistryStore(LeasePolicy.DEFAULT, () -> 0L);
    store.register(users("u-a", "10.0.0.1", "zone-a", preferLocal), Optional.empty());
    store.register(users("u-b", "10.0.0.2", "zone-b", preferLocal), Optional.empty());
    return store;
  }

  private static ContentVersionedSnapshot snapshot(InMemoryRegistryStore store) {
    return ContentVersionedSnapshot.of(
        new GatewayTranslator().translate(store.state(), GatewaySettings.DEFAULT));
  }

  /** Zone → priority of the users assignment in {@code snapshot}. */
  private static Map<String, Integer> priorities(ContentVersionedSnapshot snapshot) {
    ClusterLoadAssignment assignment =
        (ClusterLoadAssignment) snapshot.resources(ResourceType.ENDPOINT).get(USERS);
    Map<String, Integer> priorities = new TreeMap<>();
    for (LocalityLbEndpoints locality : assignment.getEndpointsList()) {
      priorities.put(locality.getLocality().getZone(), locality.getPriority());
    }
    return priorities;
  }

  private static String version(ContentVersionedSnapshot snapshot, ResourceType type) {
    return snapshot.version(type, List.of());
  }

  @Test
  void anEnvoyInAZoneIsSentItsZoneFirst() {
    ContentVersionedSnapshot fleet = snapshot(twoZones(true));

    ContentVersionedSnapshot zoneA = fleet.forGroup("edge@zone-a");
    ContentVersionedSnapshot zoneB = fleet.forGroup("edge@zone-b");

    assertThat(priorities(fleet)).containsExactly(Map.entry("zone-a", 0), Map.entry("zone-b", 0));
    assertThat(priorities(zoneA)).containsExactly(Map.entry("zone-a", 0), Map.entry("zone-b", 1));
    assertThat(priorities(zoneB)).containsExactly(Map.entry("zone-a", 1), Map.entry("zone-b", 0));
  }

  @Test
  void aZoneViewDiffersFromTheFleetInEndpointsOnly() {
    ContentVersionedSnapshot fleet = snapshot(twoZones(true));
    ContentVersionedSnapshot zoneA = fleet.forGroup("edge@zone-a");

    for (ResourceType type :
        List.of(
            ResourceType.CLUSTER, ResourceType.LISTENER, ResourceType.ROUTE, ResourceType.SECRET)) {
      assertThat(version(zoneA, type)).as("%s version", type).isEqualTo(version(fleet, type));
    }
    assertThat(version(zoneA, ResourceType.ENDPOINT))
        .isNotEqualTo(version(fleet, ResourceType.ENDPOINT));
    assertThat(zoneA.version())
        .as("content-derived: the same registry gives the same view in another JVM or replica")
        .isEqualTo(snapshot(twoZones(true)).forGroup("edge@zone-a").version());
  }

  @Test
  void everyGroupOfAZoneSharesOneView() {
    ContentVersionedSnapshot fleet = snapshot(twoZones(true));

    assertThat(fleet.forGroup("edge@zone-a")).isSameAs(fleet.forGroup("internal@zone-a"));
    assertThat(fleet.forGroup("edge@zone-a").forGroup("edge@zone-b"))
        .as("a view is not viewed again")
        .isSameAs(fleet.forGroup("edge@zone-a"));
  }

  @Test
  void theFleetIsSentAsItIsWhereNoZoneIsPreferred() {
    ContentVersionedSnapshot preferring = snapshot(twoZones(true));
    ContentVersionedSnapshot notPreferring = snapshot(twoZones(false));

    assertThat(preferring.forGroup("edge")).as("an Envoy without a zone").isSameAs(preferring);
    assertThat(preferring.forGroup("edge@zone-c"))
        .as("a zone without an instance of the service")
        .isSameAs(preferring);
    assertThat(notPreferring.forGroup("edge@zone-a"))
        .as("no service prefers the local zone")
        .isSameAs(notPreferring);
  }

  @Test
  void thePublisherSendsEachZoneItsView() {
    InMemoryRegistryStore store = twoZones(true);
    XdsSnapshotCache cache = new XdsSnapshotCache(new NodeGroups());
    try (SnapshotPublisher publisher =
        SnapshotPublisher.builder(store, GatewaySettings.DEFAULT, new GatewayTranslator(), cache)
            .coalescing(Duration.ofMillis(5), Duration.ofMillis(100))
            .build()) {
      publisher.start();
      publisher.groupSeen("edge@zone-a");
      publisher.groupSeen("edge");

      assertThat(cache.getSnapshot("edge")).isSameAs(publisher.current());
      assertThat(priorities((ContentVersionedSnapshot) cache.getSnapshot("edge@zone-a")))
          .containsExactly(Map.entry("zone-a", 0), Map.entry("zone-b", 1));

      store.register(users("u-b2", "10.0.0.3", "zone-b", true), Optional.empty());

      await()
          .atMost(Duration.ofSeconds(2))
          .until(
              () ->
                  ((ContentVersionedSnapshot) cache.getSnapshot("edge@zone-a"))
                              .resources(ResourceType.ENDPOINT)
                              .get(USERS)
                          instanceof ClusterLoadAssignment assignment
                      && assignment.getEndpoints(1).getLbEndpointsCount() == 2
                      && assignment.getEndpoints(1).getPriority() == 1);
      assertThat(cache.getSnapshot("edge@zone-a"))
          .isSameAs(publisher.current().forGroup("edge@zone-a"));
    }
  }
}
