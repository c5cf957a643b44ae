package io.signalbox.xds;

import static org.assertj.core.api.Assertions.assertThat;

import io.envoyproxy.controlplane.cache.ConfigWatcher;
import io.envoyproxy.controlplane.cache.DeltaResponse;
import io.envoyproxy.controlplane.cache.DeltaWatch;
import io.envoyproxy.controlplane.cache.DeltaXdsRequest;
import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.controlplane.cache.Resources.ResourceType;
import io.envoyproxy.controlplane.cache.v3.SimpleCache;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.signalbox.config.GatewaySettings;
import io.signalbox.model.Instance;
import io.signalbox.model.PathMatch;
import io.signalbox.model.Registration;
import io.signalbox.model.RouteSpec;
import io.signalbox.store.InMemoryRegistryStore;
import io.signalbox.store.LeasePolicy;
import io.signalbox.translate.GatewayTranslator;
import io.signalbox.translate.XdsNames;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * An Envoy reconnecting on delta xDS lists what it holds in {@code initial_resource_versions}. Here
 * it held services x and y; y was deregistered while it was away. The stream's tracked and pending
 * collections are passed in as java-control-plane's ADS stream passes its own.
 */
class ResumedDeltaWatcherTest {

  private static final String GROUP = "edge";
  private static final Node NODE = Node.newBuilder().setId("envoy-1").setCluster(GROUP).build();
  private static final String X = XdsNames.serviceCluster("x");
  private static final String Y = XdsNames.serviceCluster("y");

  private final SimpleCache<String> cache = new SimpleCache<>(new NodeGroups());
  private final ConfigWatcher watcher = new ResumedDeltaWatcher(cache, cache, new NodeGroups());
  private final List<DeltaResponse> responses = Collections.synchronizedList(new ArrayList<>());
  private final Map<String, String> streamTracked = new HashMap<>();
  private final Set<String> streamPending = new HashSet<>();

  private final ContentVersionedSnapshot heldByEnvoy = snapshot("x", "y");
  private final ContentVersionedSnapshot current = snapshot("x");

  private static ContentVersionedSnapshot snapshot(String... services) {
    InMemoryRegistryStore store = new InMemoryRegistryStore(LeasePolicy.DEFAULT, () -> 0L);
    for (String service : services) {
      store.register(
          new Registration(
              service,
              Instance.of(service + "-1", "10.0.0.1", 8080),
              List.of(RouteSpec.builder(PathMatch.prefix("/" + service)).build())),
          Optional.empty());
    }
    return ContentVersionedSnapshot.of(
        new GatewayTranslator()
            .translate(store.state(), GatewaySettings.plaintext("0.0.0.0", 10000)));
  }

  private static Map<String, String> versions(
      ContentVersionedSnapshot snapshot, ResourceType type) {
    Map<String, String> versions = new HashMap<>();
    snapshot
        .versionedResources(type)
        .forEach(
            (name, resource) ->
                versions.put(
                    (String) name,
                    ((io.envoyproxy.controlplane.cache.VersionedResource<?>) resource).version()));
    return versions;
  }

  /** The first request of a type on a new stream, as the stream hands it to the watcher. */
  private DeltaWatch reconnect(
      ConfigWatcher through,
      String typeUrl,
      Map<String, String> held,
      List<String> subscribe,
      boolean wildcard) {
    DeltaDiscoveryRequest request =
        DeltaDiscoveryRequest.newBuilder()
            .setNode(NODE)
            .setTypeUrl(typeUrl)
            .addAllResourceNamesSubscribe(subscribe)
            .putAllInitialResourceVersions(held)
            .build();
    streamPending.addAll(subscribe);
    return through.createDeltaWatch(
        DeltaXdsRequest.create(request),
        "",
        streamTracked,
        streamPending,
        wildcard,
        responses::add,
        false);
  }

  @BeforeEach
  void yIsGoneFromTheCurrentSnapshot() {
    cache.setSnapshot(GROUP, current);
  }

  @Test
  void aClusterDeletedWhileEnvoyWasAwayIsRemovedAndAnUnchangedOneIsNotSentAgain() {
    reconnect(
        watcher,
        Resources.V3.CLUSTER_TYPE_URL,
        versions(heldByEnvoy, ResourceType.CLUSTER),
        List.of(),
        true);

    assertThat(responses)
        .singleElement()
        .satisfies(
            response -> {
              assertThat(response.removedResources()).containsExactly(Y);
              assertThat(response.resources()).isEmpty();
            });
  }

  @Test
  void aResourceWhoseVersionChangedIsSent() {
    Map<String, String> held = versions(heldByEnvoy, ResourceType.ROUTE);
    assertThat(held.get(XdsNames.GATEWAY_ROUTES))
        .isNotEqualTo(versions(current, ResourceType.ROUTE).get(XdsNames.GATEWAY_ROUTES));

    reconnect(watcher, Resources.V3.ROUTE_TYPE_URL, held, List.copyOf(held.keySet()), false);

    assertThat(responses)
        .singleElement()
        .satisfies(
            response -> {
              assertThat(response.resources()).containsOnlyKeys(XdsNames.GATEWAY_ROUTES);
              assertThat(response.removedResources()).isEmpty();
            });
  }

  @Test
  void aNamedResourceDeletedWhileEnvoyWasAwayIsRemovedAndAnUnchangedOneIsNotSentAgain() {
    Map<String, String> held = versions(heldByEnvoy, ResourceType.ENDPOINT);
    assertThat(held).containsKeys(X, Y);

    reconnect(watcher, Resources.V3.ENDPOINT_TYPE_URL, held, List.of(X, Y), false);

    assertThat(responses)
        .singleElement()
        .satisfies(
            response -> {
              assertThat(response.removedResources()).containsExactly(Y);
              assertThat(response.resources()).isEmpty();
            });
  }

  @Test
  void nothingIsSentWhenEnvoyHoldsTheCurrentResources() {
    DeltaWatch watch =
        reconnect(
            watcher,
            Resources.V3.CLUSTER_TYPE_URL,
            versions(current, ResourceType.CLUSTER),
            List.of(),
            true);

    assertThat(responses).isEmpty();
    assertThat(watch.isCancelled()).isFalse();
  }

  @Test
  void theStreamRemembersWhatEnvoyHoldsSoALaterDeletionOfAResumedResourceIsSent() {
    reconnect(
        watcher,
        Resources.V3.ENDPOINT_TYPE_URL,
        versions(current, ResourceType.ENDPOINT),
        List.of(X),
        false);
    assertThat(streamTracked).containsOnlyKeys(X);
    assertThat(streamPending).isEmpty();

    cache.setSnapshot(GROUP, snapshot("z"));

    assertThat(responses)
        .singleElement()
        .satisfies(response -> assertThat(response.removedResources()).containsExactly(X));
  }

  @Test
  void aStreamThatIsNotResumingIsLeftAlone() {
    reconnect(watcher, Resources.V3.CLUSTER_TYPE_URL, Map.of(), List.of(), true);

    assertThat(responses)
        .singleElement()
        .satisfies(response -> assertThat(response.resources()).containsKey(X));
    assertThat(streamTracked).isEmpty();
  }

  /**
   * A control plane that has not published yet (still loading) leaves the watch open; the cache
   * diffs its first snapshot against nothing and computes no removals. The resumed watch asks for
   * everything instead, and what Envoy holds that the snapshot lacks is added as removed.
   */
  @Test
  void anEnvoyThatResumesBeforeTheFirstSnapshotLosesWhatItLacksWhenItArrives() {
    SimpleCache<String> loading = new SimpleCache<>(new NodeGroups());
    ConfigWatcher resumed = new ResumedDeltaWatcher(loading, loading, new NodeGroups());

    reconnect(
        resumed,
        Resources.V3.CLUSTER_TYPE_URL,
        versions(heldByEnvoy, ResourceType.CLUSTER),
        List.of(),
        true);
    reconnect(
        resumed,
        Resources.V3.ENDPOINT_TYPE_URL,
        versions(heldByEnvoy, ResourceType.ENDPOINT),
        List.of(X, Y),
        false);
    assertThat(responses).isEmpty();

    loading.setSnapshot(GROUP, current);

    assertThat(responses)
        .hasSize(2)
        .allSatisfy(
            response -> {
              assertThat(response.removedResources()).containsExactly(Y);
              assertThat(response.resources()).containsOnlyKeys(X);
            });
    assertThat(streamTracked).containsKeys(X, Y);
  }

  /**
   * Why this watcher exists: the plain cache re-sends what Envoy holds and never removes what it
   * lost.
   */
  @Test
  void withoutItTheCacheReSendsEverythingAndRemovesNothing() {
    reconnect(
        cache,
        Resources.V3.CLUSTER_TYPE_URL,
        versions(heldByEnvoy, ResourceType.CLUSTER),
        List.of(),
        true);

    assertThat(responses)
        .singleElement()
        .satisfies(
            response -> {
              assertThat(response.resources()).containsKey(X);
              assertThat(response.removedResources()).isEmpty();
            });
  }
}
