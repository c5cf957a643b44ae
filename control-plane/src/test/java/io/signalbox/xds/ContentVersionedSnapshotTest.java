package io.signalbox.xds;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.envoyproxy.controlplane.cache.Resources.ResourceType;
import io.envoyproxy.controlplane.cache.SnapshotConsistencyException;
import io.envoyproxy.controlplane.cache.VersionedResource;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.signalbox.config.GatewaySettings;
import io.signalbox.model.Instance;
import io.signalbox.model.PathMatch;
import io.signalbox.model.Registration;
import io.signalbox.model.RegistryState;
import io.signalbox.model.RouteSpec;
import io.signalbox.store.InMemoryRegistryStore;
import io.signalbox.store.LeasePolicy;
import io.signalbox.translate.GatewayTranslator;
import io.signalbox.translate.XdsNames;
import io.signalbox.translate.XdsResources;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.function.Consumer;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Snapshots versioned by content: equal content, equal versions; a change touches only the versions
 * it must.
 */
class ContentVersionedSnapshotTest {

  private static final String A = XdsNames.serviceCluster("alpha");
  private static final String B = XdsNames.serviceCluster("bravo");
  private static final String ROUTE_CONFIGURATION = XdsNames.GATEWAY_ROUTES;

  /** The types this gateway publishes (no secrets). */
  private static final EnumSet<ResourceType> PUBLISHED =
      EnumSet.of(
          ResourceType.CLUSTER, ResourceType.ENDPOINT, ResourceType.LISTENER, ResourceType.ROUTE);

  private static Registration registration(
      String service, String instanceId, String address, String prefix) {
    return new Registration(
        service,
        Instance.of(instanceId, address, 8080),
        List.of(RouteSpec.builder(PathMatch.prefix(prefix)).build()));
  }

  /** A fresh store, translator and snapshot every time: nothing is shared between two calls. */
  private static ContentVersionedSnapshot snapshot(Consumer<InMemoryRegistryStore> registrations) {
    InMemoryRegistryStore store = new InMemoryRegistryStore(LeasePolicy.DEFAULT, () -> 0L);
    registrations.accept(store);
    return ContentVersionedSnapshot.of(
        new GatewayTranslator().translate(store.state(), GatewaySettings.DEFAULT));
  }

  private static void twoServices(InMemoryRegistryStore store) {
    store.register(registration("alpha", "a1", "10.0.0.1", "/alpha"), Optional.empty());
    store.register(registration("bravo", "b1", "10.0.1.1", "/bravo"), Optional.empty());
  }

  private static void twoServicesAndASecondBravoInstance(InMemoryRegistryStore store) {
    twoServices(store);
    store.register(registration("bravo", "b2", "10.0.1.2", "/bravo"), Optional.empty());
  }

  @SuppressWarnings("unchecked")
  private static Map<String, String> resourceVersions(
      ContentVersionedSnapshot snapshot, ResourceType type) {
    Map<String, VersionedResource<?>> resources = snapshot.versionedResources(type);
    Map<String, String> versions = new TreeMap<>();
    resources.forEach((name, resource) -> versions.put(name, resource.version()));
    return versions;
  }

  @Nested
  class EqualContent {

    @ParameterizedTest
    @EnumSource(
        value = ResourceType.class,
        names = {"CLUSTER", "ENDPOINT", "LISTENER", "ROUTE", "SECRET"})
    void hasEqualVersionsPerTypeAndPerResource(ResourceType type) {
      ContentVersionedSnapshot first = snapshot(ContentVersionedSnapshotTest::twoServices);
      ContentVersionedSnapshot second = snapshot(ContentVersionedSnapshotTest::twoServices);

      assertThat(second).isNotSameAs(first);
      assertThat(second.version(type)).isEqualTo(first.version(type));
      assertThat(resourceVersions(second, type)).isEqualTo(resourceVersions(first, type));
      assertThat(second.version()).isEqualTo(first.version());
    }

    @Test
    void hasEqualVersionsWhateverTheRegistrationOrder() {
      ContentVersionedSnapshot forwards = snapshot(ContentVersionedSnapshotTest::twoServices);
      ContentVersionedSnapshot backwards =
          snapshot(
              store -> {
                store.register(registration("bravo", "b1", "10.0.1.1", "/bravo"), Optional.empty());
                store.register(registration("alpha", "a1", "10.0.0.1", "/alpha"), Optional.empty());
              });

      assertThat(backwards.version()).isEqualTo(forwards.version());
    }

    @Test
    void hasEqualVersionsAtADifferentStateRevision() {
      ContentVersionedSnapshot direct = snapshot(ContentVersionedSnapshotTest::twoServices);
      ContentVersionedSnapshot roundabout =
          snapshot(
              store -> {
                twoServices(store);
                String lease =
                    store
                        .register(
                            registration("charlie", "c1", "10.0.2.1", "/charlie"), Optional.empty())
                        .id();
                store.deregister(lease);
              });

      assertThat(roundabout.version()).isEqualTo(direct.version());
    }

    @Test
    void hasAVersionThatIsStableAcrossRunsAndJvms() {
      // Recorded from this input; a change here means every Envoy would be sent everything again on
      // upgrade.
      ContentVersionedSnapshot empty = ContentVersionedSnapshot.of(XdsResources.EMPTY);

      assertThat(empty.version(ResourceType.CLUSTER))
          .as("the version of no resources is the SHA-256 of nothing, cut to 16 hex digits")
          .isEqualTo("e3b0c44298fc1c14");
      assertThat(ContentVersionedSnapshot.of(XdsResources.EMPTY).version())
          .isEqualTo(empty.version());
    }

    @Test
    void versionsAResourceByTheSha256OfItsDeterministicSerialization() throws Exception {
      Cluster cluster =
          Cluster.newBuilder()
              .setName("svc-x")
              .setMetadata(
                  io.envoyproxy.envoy.config.core.v3.Metadata.newBuilder()
                      .putFilterMetadata("b", com.google.protobuf.Struct.getDefaultInstance())
                      .putFilterMetadata("a", com.google.protobuf.Struct.getDefaultInstance()))
              .build();
      java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
      com.google.protobuf.CodedOutputStream output =
          com.google.protobuf.CodedOutputStream.newInstance(bytes);
      output.useDeterministicSerialization();
      cluster.writeTo(output);
      output.flush();
      String expected =
          java.util.HexFormat.of()
              .formatHex(
                  java.security.MessageDigest.getInstance("SHA-256").digest(bytes.toByteArray()))
              .substring(0, 16);

      ContentVersionedSnapshot snapshot =
          ContentVersionedSnapshot.of(
              new XdsResources(List.of(), List.of(), List.of(cluster), List.of(), List.of()));

      assertThat(resourceVersions(snapshot, ResourceType.CLUSTER))
          .containsExactly(Map.entry("svc-x", expected));
    }

    @Test
    void versionsResourcesByTheirSerializedContentNotTheirIdentity() {
      Cluster cluster = Cluster.newBuilder().setName("svc-x").build();
      Cluster equalCopy = Cluster.newBuilder().setName("svc-x").build();
      XdsResources one =
          new XdsResources(List.of(), List.of(), List.of(cluster), List.of(), List.of());
      XdsResources other =
          new XdsResources(List.of(), List.of(), List.of(equalCopy), List.of(), List.of());

      assertThat(resourceVersions(ContentVersionedSnapshot.of(other), ResourceType.CLUSTER))
          .isEqualTo(resourceVersions(ContentVersionedSnapshot.of(one), ResourceType.CLUSTER));
    }
  }

  @Nested
  class AnInstanceJoiningOneService {

    private final ContentVersionedSnapshot before =
        snapshot(ContentVersionedSnapshotTest::twoServices);
    private final ContentVersionedSnapshot after =
        snapshot(ContentVersionedSnapshotTest::twoServicesAndASecondBravoInstance);

    @Test
    void changesOnlyThatServicesLoadAssignment() {
      Map<String, String> endpointsBefore = resourceVersions(before, ResourceType.ENDPOINT);
      Map<String, String> endpointsAfter = resourceVersions(after, ResourceType.ENDPOINT);

      assertThat(endpointsAfter).containsOnlyKeys(A, B);
      assertThat(endpointsAfter.get(A)).isEqualTo(endpointsBefore.get(A));
      assertThat(endpointsAfter.get(B)).isNotEqualTo(endpointsBefore.get(B));
    }

    @Test
    void changesTheEndpointTypeVersionAndTheSnapshotVersion() {
      assertThat(after.version(ResourceType.ENDPOINT))
          .isNotEqualTo(before.version(ResourceType.ENDPOINT));
      assertThat(after.version()).isNotEqualTo(before.version());
    }

    @ParameterizedTest
    @EnumSource(
        value = ResourceType.class,
        names = {"CLUSTER", "LISTENER", "ROUTE", "SECRET"})
    void leavesEveryOtherTypeAndItsResourcesAlone(ResourceType type) {
      assertThat(after.version(type)).isEqualTo(before.version(type));
      assertThat(resourceVersions(after, type)).isEqualTo(resourceVersions(before, type));
    }

    @Test
    void leavesTheVersionOfARequestNamingOnlyTheOtherServiceAlone() {
      assertThat(after.version(ResourceType.ENDPOINT, List.of(A)))
          .isEqualTo(before.version(ResourceType.ENDPOINT, List.of(A)));
      assertThat(after.version(ResourceType.ENDPOINT, List.of(B)))
          .isNotEqualTo(before.version(ResourceType.ENDPOINT, List.of(B)));
      assertThat(after.version(ResourceType.ENDPOINT, List.of(A, B)))
          .isNotEqualTo(before.version(ResourceType.ENDPOINT, List.of(A, B)));
    }
  }

  @Nested
  class Versions {

    private final ContentVersionedSnapshot snapshot =
        snapshot(ContentVersionedSnapshotTest::twoServices);

    @Test
    void areSixteenHexDigits() {
      List<String> versions = new java.util.ArrayList<>();
      versions.add(snapshot.version());
      for (ResourceType type : PUBLISHED) {
        versions.add(snapshot.version(type));
        versions.addAll(resourceVersions(snapshot, type).values());
      }

      assertThat(versions)
          .hasSizeGreaterThan(PUBLISHED.size() + 1)
          .allSatisfy(version -> assertThat(version).matches("[0-9a-f]{16}"));
    }

    @Test
    void differBetweenTypesAndResources() {
      assertThat(resourceVersions(snapshot, ResourceType.ENDPOINT).values())
          .doesNotHaveDuplicates();
      assertThat(PUBLISHED.stream().map(snapshot::version)).doesNotHaveDuplicates();
    }

    @Test
    void ofASubsetDependOnlyOnTheNamedResources() {
      ContentVersionedSnapshot withoutBravo =
          snapshot(
              store ->
                  store.register(
                      registration("alpha", "a1", "10.0.0.1", "/alpha"), Optional.empty()));

      assertThat(snapshot.version(ResourceType.CLUSTER, List.of(A)))
          .isEqualTo(withoutBravo.version(ResourceType.CLUSTER, List.of(A)));
      assertThat(snapshot.version(ResourceType.ENDPOINT, List.of(A)))
          .isEqualTo(withoutBravo.version(ResourceType.ENDPOINT, List.of(A)));
      assertThat(snapshot.version(ResourceType.CLUSTER))
          .isNotEqualTo(withoutBravo.version(ResourceType.CLUSTER));
    }

    @Test
    void ofASubsetDoNotDependOnTheOrderOfNames() {
      assertThat(snapshot.version(ResourceType.ENDPOINT, List.of(B, A)))
          .isEqualTo(snapshot.version(ResourceType.ENDPOINT, List.of(A, B)));
    }

    @Test
    void ofASubsetChangeWhenANamedResourceAppears() {
      ContentVersionedSnapshot withoutBravo =
          snapshot(
              store ->
                  store.register(
                      registration("alpha", "a1", "10.0.0.1", "/alpha"), Optional.empty()));

      assertThat(snapshot.version(ResourceType.ENDPOINT, List.of(A, B)))
          .isNotEqualTo(withoutBravo.version(ResourceType.ENDPOINT, List.of(A, B)));
    }

    @Test
    void ofAllNamesAreTheTypeVersion() {
      assertThat(snapshot.version(ResourceType.ROUTE, List.of(ROUTE_CONFIGURATION)))
          .isEqualTo(snapshot.version(ResourceType.ROUTE));
    }
  }

  @Nested
  class Consistency {

    @Test
    void translatorOutputIsCompleteBySignalboxsOwnCheck() {
      XdsResources translated =
          new GatewayTranslator()
              .translate(
                  state(ContentVersionedSnapshotTest::twoServicesAndASecondBravoInstance),
                  GatewaySettings.DEFAULT);

      assertThat(SnapshotConsistency.problems(translated)).isEmpty();
      assertThat(
              SnapshotConsistency.problems(
                  new GatewayTranslator().translate(RegistryState.EMPTY, GatewaySettings.DEFAULT)))
          .isEmpty();
    }

    /**
     * The library pitfall behind {@link SnapshotConsistency}: the inherited {@code
     * ensureConsistent()} looks for a listener's RDS name only in a filter named
     * "envoy.http_connection_manager" (java-control-plane 1.0.49, Resources.getResourceReferences),
     * so it would reject every translation; ours checks by type URL.
     */
    @Test
    void ensureConsistentAcceptsTranslatorOutputWithTheModernConnectionManagerName()
        throws SnapshotConsistencyException {
      ContentVersionedSnapshot.of(
              new GatewayTranslator()
                  .translate(
                      state(ContentVersionedSnapshotTest::twoServicesAndASecondBravoInstance),
                      GatewaySettings.DEFAULT))
          .ensureConsistent();
    }

    @Test
    void ensureConsistentRejectsAClusterWithoutItsLoadAssignment() {
      XdsResources translated =
          new GatewayTranslator()
              .translate(state(ContentVersionedSnapshotTest::twoServices), GatewaySettings.DEFAULT);
      XdsResources withoutEndpoints =
          new XdsResources(
              translated.listeners(),
              translated.routes(),
              translated.clusters(),
              List.of(),
              List.of());

      assertThat(SnapshotConsistency.problems(withoutEndpoints)).hasSize(2);
      assertThatThrownBy(() -> ContentVersionedSnapshot.of(withoutEndpoints).ensureConsistent())
          .isInstanceOf(SnapshotConsistencyException.class)
          .hasMessageContaining("has no load assignment");
    }

    @Test
    void translatorOutputHasALoadAssignmentPerClusterAndTheRouteConfigurationTheListenerNames()
        throws Exception {
      ContentVersionedSnapshot snapshot =
          snapshot(ContentVersionedSnapshotTest::twoServicesAndASecondBravoInstance);

      assertThat(snapshot.resources(ResourceType.CLUSTER)).containsOnlyKeys(A, B);
      assertThat(snapshot.resources(ResourceType.ENDPOINT)).containsOnlyKeys(A, B);
      assertThat(snapshot.resources(ResourceType.ROUTE)).containsOnlyKeys(ROUTE_CONFIGURATION);
      assertThat(snapshot.resources(ResourceType.LISTENER)).hasSize(1);
      Listener listener =
          (Listener) snapshot.resources(ResourceType.LISTENER).values().iterator().next();
      assertThat(
              listener
                  .getFilterChains(0)
                  .getFilters(0)
                  .getTypedConfig()
                  .unpack(HttpConnectionManager.class)
                  .getRds()
                  .getRouteConfigName())
          .isEqualTo(ROUTE_CONFIGURATION);
    }

    @Test
    void aListenerNamingAMissingRouteConfigurationIsIncomplete() {
      XdsResources translated =
          new GatewayTranslator()
              .translate(state(ContentVersionedSnapshotTest::twoServices), GatewaySettings.DEFAULT);
      XdsResources withoutRoutes =
          new XdsResources(
              translated.listeners(),
              List.of(),
              translated.clusters(),
              translated.endpoints(),
              List.of());

      assertThat(SnapshotConsistency.problems(withoutRoutes))
          .singleElement()
          .asString()
          .contains(ROUTE_CONFIGURATION);
    }

    /**
     * After a complete snapshot, what a change keeps as it was (the very listeners and clusters,
     * the names of everything else) is not checked again; what it takes away is.
     */
    @Test
    void aSnapshotMadeFromACompleteOneIsCheckedForWhatItChanged() throws Exception {
      XdsResources translated =
          new GatewayTranslator()
              .translate(state(ContentVersionedSnapshotTest::twoServices), GatewaySettings.DEFAULT);
      ContentVersionedSnapshot complete = ContentVersionedSnapshot.of(translated);
      ContentVersionedSnapshot movedEndpoints =
          ContentVersionedSnapshot.of(
              translated.withEndpoints(
                  translated.endpoints().stream()
                      .map(e -> e.toBuilder().clearEndpoints().build())
                      .toList()),
              complete);
      ContentVersionedSnapshot lostAnAssignment =
          ContentVersionedSnapshot.of(
              translated.withEndpoints(translated.endpoints().subList(0, 1)), complete);

      assertThat(movedEndpoints.endpoints().version()).isNotEqualTo(complete.endpoints().version());
      movedEndpoints.ensureConsistentAfter(complete);
      assertThatThrownBy(() -> lostAnAssignment.ensureConsistentAfter(complete))
          .isInstanceOf(SnapshotConsistencyException.class)
          .hasMessageContaining("has no load assignment");

      // A new cluster, with its assignment and without.
      List<Cluster> clusters = new ArrayList<>(translated.clusters());
      clusters.add(translated.clusters().get(0).toBuilder().setName("zz-new").build());
      List<ClusterLoadAssignment> assignments = new ArrayList<>(translated.endpoints());
      assignments.add(translated.endpoints().get(0).toBuilder().setClusterName("zz-new").build());
      ContentVersionedSnapshot.of(
              new XdsResources(
                  translated.listeners(),
                  translated.routes(),
                  clusters,
                  assignments,
                  translated.secrets()),
              complete)
          .ensureConsistentAfter(complete);
      ContentVersionedSnapshot newClusterAlone =
          ContentVersionedSnapshot.of(
              new XdsResources(
                  translated.listeners(),
                  translated.routes(),
                  clusters,
                  translated.endpoints(),
                  translated.secrets()),
              complete);
      assertThatThrownBy(() -> newClusterAlone.ensureConsistentAfter(complete))
          .isInstanceOf(SnapshotConsistencyException.class)
          .hasMessageContaining("EDS cluster zz-new has no load assignment");
    }

    @Test
    void resourcesHaveTheSameNamesOnlyWhenTheyAreKnownToAtNoCost() {
      List<Cluster> two = List.of(cluster("a", 1), cluster("b", 1));
      ContentVersionedResources<Cluster> first =
          ContentVersionedResources.of(two, Cluster::getName, List.of());
      ContentVersionedResources<Cluster> changedOne =
          ContentVersionedResources.of(
              List.of(cluster("a", 2), two.get(1)), Cluster::getName, List.of(first));
      ContentVersionedResources<Cluster> addedOne =
          ContentVersionedResources.of(
              List.of(two.get(0), two.get(1), cluster("c", 1)), Cluster::getName, List.of(first));
      ContentVersionedResources<Cluster> removedOne =
          ContentVersionedResources.of(List.of(two.get(0)), Cluster::getName, List.of(first));
      ContentVersionedResources<Cluster> madeApart =
          ContentVersionedResources.of(two, Cluster::getName, List.of());

      assertThat(changedOne.sameNames(first)).isTrue();
      assertThat(addedOne.sameNames(first)).isFalse();
      assertThat(removedOne.sameNames(first)).isFalse();
      assertThat(madeApart.sameNames(first)).as("not known at no cost").isFalse();
    }

    private Cluster cluster(String name, int timeoutSeconds) {
      return Cluster.newBuilder()
          .setName(name)
          .setConnectTimeout(com.google.protobuf.Duration.newBuilder().setSeconds(timeoutSeconds))
          .build();
    }

    private RegistryState state(Consumer<InMemoryRegistryStore> registrations) {
      InMemoryRegistryStore store = new InMemoryRegistryStore(LeasePolicy.DEFAULT, () -> 0L);
      registrations.accept(store);
      return store.state();
    }
  }

  @Test
  void aSnapshotMadeByDifferenceHasTheVersionsOfOneMadeFromScratch() {
    java.util.Random random = new java.util.Random(11);
    InMemoryRegistryStore store = new InMemoryRegistryStore(LeasePolicy.DEFAULT, () -> 0L);
    GatewayTranslator translator = new GatewayTranslator();
    ContentVersionedSnapshot previous = null;
    Map<String, String> leases = new java.util.HashMap<>();
    for (int step = 0; step < 150; step++) {
      String service = "svc" + random.nextInt(6);
      String instance = service + "-" + random.nextInt(3);
      if (random.nextInt(4) == 0 && leases.containsKey(instance)) {
        store.deregister(leases.remove(instance));
      } else {
        String lease =
            store
                .register(
                    registration(
                        service,
                        instance,
                        "10.0.0." + (1 + random.nextInt(9)),
                        "/" + service + (random.nextBoolean() ? "" : "/v2")),
                    Optional.empty())
                .id();
        leases.put(instance, lease);
      }
      XdsResources resources = translator.translate(store.state(), GatewaySettings.DEFAULT);
      ContentVersionedSnapshot byDifference =
          previous == null
              ? ContentVersionedSnapshot.of(resources)
              : ContentVersionedSnapshot.of(resources, previous);
      ContentVersionedSnapshot fromScratch =
          ContentVersionedSnapshot.of(
              new GatewayTranslator().translate(store.state(), GatewaySettings.DEFAULT));

      assertThat(byDifference.version()).as("step %d", step).isEqualTo(fromScratch.version());
      for (ResourceType type : PUBLISHED) {
        assertThat(resourceVersions(byDifference, type))
            .isEqualTo(resourceVersions(fromScratch, type));
        assertThat(byDifference.version(type, List.of()))
            .isEqualTo(fromScratch.version(type, List.of()));
      }
      previous = byDifference;
    }
  }

  /** A group's own snapshot made from the fleet's: its own secret, the fleet's everything else. */
  private static ContentVersionedSnapshot ownSnapshot(ContentVersionedSnapshot fleet) {
    XdsResources fleets = fleet.resources();
    return ContentVersionedSnapshot.of(
        new XdsResources(
            fleets.listeners(),
            fleets.routes(),
            fleets.clusters(),
            fleets.endpoints(),
            List.of(
                io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret.newBuilder()
                    .setName("own-certificate")
                    .build())),
        fleet);
  }

  @Test
  void groupsThatShareATypesResourcesShareItsDifference() {
    ContentVersionedSnapshot older = snapshot(ContentVersionedSnapshotTest::twoServices);
    ContentVersionedSnapshot newer =
        snapshot(ContentVersionedSnapshotTest::twoServicesAndASecondBravoInstance);
    ResourceDiff fleetChange = newer.changesSince(older, ResourceType.ENDPOINT);

    ResourceDiff groupChange =
        ownSnapshot(newer).changesSince(ownSnapshot(older), ResourceType.ENDPOINT);

    assertThat(groupChange.modified()).containsExactly(B);
    assertThat(groupChange).as("found once, not once per group").isSameAs(fleetChange);
    assertThat(ownSnapshot(newer).changesSince(newer, ResourceType.ENDPOINT).isEmpty()).isTrue();
  }

  @Test
  void aSnapshotComparedWithAnotherDoesNotKeepItAlive() {
    ContentVersionedSnapshot older = snapshot(ContentVersionedSnapshotTest::twoServices);
    ContentVersionedSnapshot newer =
        snapshot(ContentVersionedSnapshotTest::twoServicesAndASecondBravoInstance);
    assertThat(newer.changesSince(older, ResourceType.ENDPOINT).modified()).containsExactly(B);

    java.lang.ref.WeakReference<ContentVersionedSnapshot> compared =
        new java.lang.ref.WeakReference<>(older);
    older = null;
    org.awaitility.Awaitility.await()
        .atMost(java.time.Duration.ofSeconds(10))
        .until(
            () -> {
              System.gc();
              return compared.get() == null;
            });
    assertThat(newer.version()).isNotEmpty();
  }
}
