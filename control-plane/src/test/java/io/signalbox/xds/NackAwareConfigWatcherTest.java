package io.signalbox.xds;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.rpc.Status;
import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.controlplane.cache.Resources.ResourceType;
import io.envoyproxy.controlplane.cache.Response;
import io.envoyproxy.controlplane.cache.Watch;
import io.envoyproxy.controlplane.cache.XdsRequest;
import io.envoyproxy.controlplane.cache.v3.SimpleCache;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
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
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/**
 * The state-of-the-world NACK loop and how the watcher breaks it. A NACK carries the last version
 * Envoy accepted; a plain {@link SimpleCache} sees that it differs from the snapshot's and answers
 * at once with the very resources Envoy just rejected.
 */
class NackAwareConfigWatcherTest {

  private static final String GROUP = "edge";
  private static final Node NODE = Node.newBuilder().setId("envoy-1").setCluster(GROUP).build();
  private static final String LDS = Resources.V3.LISTENER_TYPE_URL;
  private static final String RDS = Resources.V3.ROUTE_TYPE_URL;
  private static final String ROUTE_CONFIGURATION = XdsNames.GATEWAY_ROUTES;

  private final XdsSnapshotCache cache = new XdsSnapshotCache(new NodeGroups());
  private final NackAwareConfigWatcher watcher = new NackAwareConfigWatcher(cache);
  private final List<Response> responses = Collections.synchronizedList(new ArrayList<>());
  private final List<Watch> watches = new ArrayList<>();

  private ContentVersionedSnapshot first;

  /** A snapshot of one service with the given routes, for a gateway listening on the given port. */
  private static ContentVersionedSnapshot snapshot(int gatewayPort, String... prefixes) {
    InMemoryRegistryStore store = new InMemoryRegistryStore(LeasePolicy.DEFAULT, () -> 0L);
    store.register(
        new Registration(
            "orders",
            Instance.of("o1", "10.0.0.1", 8080),
            java.util.Arrays.stream(prefixes)
                .map(p -> RouteSpec.builder(PathMatch.prefix(p)).build())
                .toList()),
        Optional.empty());
    return ContentVersionedSnapshot.of(
        new GatewayTranslator()
            .translate(store.state(), GatewaySettings.plaintext("0.0.0.0", gatewayPort)));
  }

  private static DiscoveryRequest.Builder request(
      String typeUrl, String versionInfo, String... names) {
    return DiscoveryRequest.newBuilder()
        .setNode(NODE)
        .setTypeUrl(typeUrl)
        .setVersionInfo(versionInfo)
        .addAllResourceNames(List.of(names));
  }

  private static DiscoveryRequest.Builder nack(DiscoveryRequest.Builder request, String nonce) {
    return request
        .setResponseNonce(nonce)
        .setErrorDetail(
            Status.newBuilder().setCode(3).setMessage("rejected by Envoy: invalid listener"));
  }

  private Watch watch(
      io.envoyproxy.controlplane.cache.ConfigWatcher through,
      DiscoveryRequest.Builder request,
      Set<String> knownResourceNames) {
    Watch watch =
        through.createWatch(
            true,
            XdsRequest.create(request.build()),
            knownResourceNames,
            responses::add,
            false,
            false);
    watches.add(watch);
    return watch;
  }

  private Watch watch(DiscoveryRequest.Builder request) {
    return watch(watcher, request, Set.of());
  }

  @BeforeEach
  void publishAFirstSnapshot() {
    first = snapshot(10000, "/orders");
    cache.setSnapshot(GROUP, first);
  }

  @Nested
  class ForAWildcardType {

    @BeforeEach
    void envoyIsSentTheListeners() {
      watch(request(LDS, ""));

      assertThat(responses)
          .singleElement()
          .satisfies(r -> assertThat(r.version()).isEqualTo(first.version(ResourceType.LISTENER)))
          .satisfies(r -> assertThat(r.resources()).hasSize(1));
      responses.clear();
    }

    @Test
    void aNackIsNotAnsweredWithTheRejectedResources() {
      Watch afterNack = watch(nack(request(LDS, ""), "0"));

      assertThat(responses).isEmpty();
      assertThat(afterNack.isCancelled()).isFalse();
    }

    @Test
    void theWatchLeftOpenByANackIsAnsweredWithTheNextChangedSnapshot() {
      watch(nack(request(LDS, ""), "0"));
      ContentVersionedSnapshot changed = snapshot(10001, "/orders");
      assertThat(changed.version(ResourceType.LISTENER))
          .isNotEqualTo(first.version(ResourceType.LISTENER));

      cache.setSnapshot(GROUP, changed);

      assertThat(responses)
          .singleElement()
          .satisfies(
              r -> assertThat(r.version()).isEqualTo(changed.version(ResourceType.LISTENER)));
    }

    @Test
    void theWatchLeftOpenByANackIgnoresASnapshotThatLeavesTheTypeAlone() {
      watch(nack(request(LDS, ""), "0"));
      ContentVersionedSnapshot routesOnly = snapshot(10000, "/orders", "/orders-v2");
      assertThat(routesOnly.version(ResourceType.LISTENER))
          .isEqualTo(first.version(ResourceType.LISTENER));

      cache.setSnapshot(GROUP, routesOnly);

      assertThat(responses).isEmpty();
    }

    @Test
    void aRepeatedNackIsNotAnsweredEither() {
      watch(nack(request(LDS, ""), "0")).cancel();
      watch(nack(request(LDS, ""), "0"));

      assertThat(responses).isEmpty();
    }

    @Test
    void aNackAfterAnAcceptedVersionIsNotAnsweredEither() {
      String accepted = first.version(ResourceType.LISTENER);
      ContentVersionedSnapshot rejected = snapshot(10001, "/orders");
      watch(request(LDS, accepted));
      cache.setSnapshot(GROUP, rejected);
      assertThat(responses)
          .singleElement()
          .satisfies(
              r -> assertThat(r.version()).isEqualTo(rejected.version(ResourceType.LISTENER)));
      responses.clear();

      watch(nack(request(LDS, accepted), "1"));

      assertThat(responses).isEmpty();
    }

    @Test
    void anAckIsPassedThroughAndWaitsForAChange() {
      watch(request(LDS, first.version(ResourceType.LISTENER)).setResponseNonce("0"));
      assertThat(responses).isEmpty();

      cache.setSnapshot(GROUP, snapshot(10001, "/orders"));

      assertThat(responses).hasSize(1);
    }

    @Test
    void aNackFromAnotherEnvoyOfTheGroupThatWasSentNothingIsAnswered() {
      Node other = NODE.toBuilder().setId("envoy-2").build();

      watch(nack(request(LDS, "").setNode(other), "0"));

      assertThat(responses).hasSize(1);
    }

    @Test
    void aForgottenNodesNackIsAnsweredAgain() {
      watcher.forget(NODE.getId());

      watch(nack(request(LDS, ""), "0"));

      assertThat(responses).hasSize(1);
    }

    @Test
    void withoutTheWatcherTheCacheAnswersANackAtOnceWithTheRejectedResources() {
      // The library pitfall this watcher exists for: Envoy rejects, the cache resends, Envoy
      // rejects, forever.
      watch(cache, nack(request(LDS, ""), "0"), Set.of());

      assertThat(responses)
          .singleElement()
          .satisfies(r -> assertThat(r.version()).isEqualTo(first.version(ResourceType.LISTENER)));
    }
  }

  @Nested
  class ForANamedType {

    @BeforeEach
    void envoyIsSentTheRouteConfiguration() {
      watch(request(RDS, "", ROUTE_CONFIGURATION));

      assertThat(responses)
          .singleElement()
          .satisfies(
              r ->
                  assertThat(r.resources())
                      .singleElement()
                      .satisfies(
                          resource ->
                              assertThat(((RouteConfiguration) resource).getName())
                                  .isEqualTo(ROUTE_CONFIGURATION)));
      responses.clear();
    }

    @Test
    void aNackWithNoAcknowledgedNamesIsNotAnsweredWithTheRejectedResources() {
      watch(watcher, nack(request(RDS, "", ROUTE_CONFIGURATION), "0"), Set.of());

      assertThat(responses).isEmpty();
    }

    @Test
    void theWatchLeftOpenByANackIsAnsweredWhenTheNamedResourceChanges() {
      watch(watcher, nack(request(RDS, "", ROUTE_CONFIGURATION), "0"), Set.of());
      ContentVersionedSnapshot changed = snapshot(10000, "/orders", "/orders-v2");

      cache.setSnapshot(GROUP, changed);

      assertThat(responses)
          .singleElement()
          .satisfies(
              r ->
                  assertThat(r.version())
                      .isEqualTo(
                          changed.version(ResourceType.ROUTE, List.of(ROUTE_CONFIGURATION))));
    }

    @Test
    void withoutTheWatcherTheCacheAnswersTheNackAtOnceBecauseTheNamesWereNeverAcknowledged() {
      watch(cache, nack(request(RDS, "", ROUTE_CONFIGURATION), "0"), Set.of());

      assertThat(responses).hasSize(1);
    }
  }
}
