package io.signalbox.xds;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.util.Durations;
import io.envoyproxy.controlplane.cache.Resources.ResourceType;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.HealthCheck;
import io.envoyproxy.envoy.config.core.v3.TransportSocket;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.signalbox.config.GatewaySettings;
import io.signalbox.model.Instance;
import io.signalbox.model.PathMatch;
import io.signalbox.model.Registration;
import io.signalbox.model.RouteSpec;
import io.signalbox.store.InMemoryRegistryStore;
import io.signalbox.store.LeasePolicy;
import io.signalbox.translate.GatewayTranslator;
import io.signalbox.translate.XdsResources;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The order in which a change reaches Envoy: nothing a route points at is ever missing. */
class MakeBeforeBreakTest {

  /** The gateway's resources for services of one instance and one route each. */
  static XdsResources gatewayWith(String... services) {
    InMemoryRegistryStore store = new InMemoryRegistryStore(LeasePolicy.DEFAULT);
    for (String service : services) {
      store.register(
          new Registration(
              service,
              new Instance(service + "-1", "10.0.0.1", "10.0.0.1", 80, "", 1, Map.of()),
              List.of(RouteSpec.builder(PathMatch.prefix("/" + service)).build())),
          Optional.empty());
    }
    return new GatewayTranslator().translate(store.state(), GatewaySettings.DEFAULT);
  }

  private static List<String> clusterNames(XdsResources resources) {
    return resources.clusters().stream().map(Cluster::getName).toList();
  }

  private static List<String> endpointNames(XdsResources resources) {
    return resources.endpoints().stream().map(ClusterLoadAssignment::getClusterName).toList();
  }

  @Test
  void aNewServicesClusterAndEndpointsGoFirstWithTheOldRoutesThenTheRoutes() {
    XdsResources before = gatewayWith("orders");
    XdsResources after = gatewayWith("orders", "billing");

    List<MakeBeforeBreak.Stage> stages = MakeBeforeBreak.stages(before, after);

    assertThat(stages).hasSize(2);
    XdsResources first = stages.get(0).resources();
    assertThat(clusterNames(first)).containsExactly("svc-billing", "svc-orders");
    assertThat(endpointNames(first)).containsExactly("svc-billing", "svc-orders");
    assertThat(first.routes()).isEqualTo(before.routes());
    assertThat(first.listeners()).isEqualTo(before.listeners());
    assertThat(stages.get(0).waitFor())
        .as("an EDS cluster is warm once its endpoints arrive: routes may follow them in order")
        .containsExactly(
            new MakeBeforeBreak.Wait(
                ResourceType.ENDPOINT, Set.of("svc-billing"), MakeBeforeBreak.Until.DELIVERED));
    assertThat(stages.get(1).resources()).isEqualTo(after);
  }

  /** {@code resources} with the named cluster changed. */
  private static XdsResources withCluster(
      XdsResources resources, String name, UnaryOperator<Cluster.Builder> change) {
    return new XdsResources(
        resources.listeners(),
        resources.routes(),
        resources.clusters().stream()
            .map(c -> c.getName().equals(name) ? change.apply(c.toBuilder()).build() : c)
            .toList(),
        resources.endpoints(),
        resources.secrets());
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("clustersThatWarmOnMoreThanTheirEndpoints")
  void aNewClusterThatWarmsOnMoreThanItsEndpointsWaitsUntilEnvoyAppliedIt(
      String kind, UnaryOperator<Cluster.Builder> change) {
    XdsResources before = gatewayWith("orders");
    XdsResources after = withCluster(gatewayWith("orders", "billing"), "svc-billing", change);

    assertThat(MakeBeforeBreak.stages(before, after).get(0).waitFor())
        .containsExactly(
            new MakeBeforeBreak.Wait(ResourceType.CLUSTER, Set.of()),
            new MakeBeforeBreak.Wait(ResourceType.ENDPOINT, Set.of("svc-billing")));
  }

  @Test
  void aNewSecretWaitsUntilEnvoyAppliedIt() {
    XdsResources before = gatewayWith("orders");
    XdsResources withService = gatewayWith("orders", "billing");
    XdsResources after =
        new XdsResources(
            withService.listeners(),
            withService.routes(),
            withService.clusters(),
            withService.endpoints(),
            List.of(Secret.newBuilder().setName("billing-ca").build()));

    assertThat(MakeBeforeBreak.stages(before, after).get(0).waitFor())
        .extracting(MakeBeforeBreak.Wait::until)
        .containsOnly(MakeBeforeBreak.Until.APPLIED);
  }

  static Stream<Arguments> clustersThatWarmOnMoreThanTheirEndpoints() {
    UnaryOperator<Cluster.Builder> healthChecked =
        c -> c.addHealthChecks(HealthCheck.newBuilder().setTimeout(Durations.fromSeconds(1)));
    UnaryOperator<Cluster.Builder> dns =
        c -> c.setType(Cluster.DiscoveryType.STRICT_DNS).clearEdsClusterConfig();
    UnaryOperator<Cluster.Builder> tls =
        c -> c.setTransportSocket(TransportSocket.newBuilder().setName("tls"));
    UnaryOperator<Cluster.Builder> otherAssignment =
        c ->
            c.setEdsClusterConfig(
                c.getEdsClusterConfig().toBuilder().setServiceName("svc-elsewhere"));
    return Stream.of(
        Arguments.of("active health checks: warm after their first round", healthChecked),
        Arguments.of("DNS: warm once its names resolve", dns),
        Arguments.of("a transport socket: may wait for its secrets", tls),
        Arguments.of("endpoints under another name", otherAssignment));
  }

  @Test
  void aRemovedServicesRoutesGoFirstThenItsCluster() {
    XdsResources before = gatewayWith("orders", "billing");
    XdsResources after = gatewayWith("orders");

    List<MakeBeforeBreak.Stage> stages = MakeBeforeBreak.stages(before, after);

    assertThat(stages).hasSize(2);
    XdsResources first = stages.get(0).resources();
    assertThat(first.routes()).isEqualTo(after.routes());
    assertThat(clusterNames(first)).containsExactly("svc-billing", "svc-orders");
    assertThat(stages.get(0).waitFor())
        .extracting(MakeBeforeBreak.Wait::type)
        .containsExactly(ResourceType.LISTENER, ResourceType.ROUTE);
    assertThat(stages.get(1).resources()).isEqualTo(after);
  }

  @Test
  void aSwapAddsBeforeItRemoves() {
    XdsResources before = gatewayWith("orders", "billing");
    XdsResources after = gatewayWith("orders", "shipping");

    List<MakeBeforeBreak.Stage> stages = MakeBeforeBreak.stages(before, after);

    assertThat(stages).hasSize(3);
    assertThat(stages.get(0).resources().routes()).isEqualTo(before.routes());
    assertThat(clusterNames(stages.get(0).resources()))
        .containsExactly("svc-billing", "svc-orders", "svc-shipping");
    assertThat(stages.get(1).resources().routes()).isEqualTo(after.routes());
    assertThat(clusterNames(stages.get(1).resources()))
        .containsExactly("svc-billing", "svc-orders", "svc-shipping");
    assertThat(stages.get(2).resources()).isEqualTo(after);
  }

  @Test
  void anEndpointChangeIsOneStep() {
    XdsResources before = gatewayWith("orders");
    XdsResources after =
        new XdsResources(
            before.listeners(),
            before.routes(),
            before.clusters(),
            List.of(before.endpoints().get(0).toBuilder().clearEndpoints().build()),
            before.secrets());

    assertThat(MakeBeforeBreak.stages(before, after))
        .singleElement()
        .satisfies(stage -> assertThat(stage.resources()).isEqualTo(after));
  }

  @Test
  void aRouteOnlyChangeIsOneStep() {
    XdsResources before = gatewayWith("orders");
    XdsResources after =
        new XdsResources(
            before.listeners(),
            List.of(
                RouteConfiguration.newBuilder(before.routes().get(0)).clearVirtualHosts().build()),
            before.clusters(),
            before.endpoints(),
            before.secrets());

    assertThat(MakeBeforeBreak.stages(before, after)).hasSize(1);
  }

  @Test
  void theUnionHoldsTheNewVersionOfAChangedClusterAndTheOldOneOfARemovedCluster() {
    XdsResources before = gatewayWith("billing", "orders");
    XdsResources after = gatewayWith("orders", "shipping");
    Cluster ordersBefore = before.clusters().get(1);
    Cluster ordersAfter = after.clusters().get(0);

    XdsResources added = MakeBeforeBreak.stages(before, after).get(0).resources();

    assertThat(added.clusters())
        .containsExactly(before.clusters().get(0), ordersAfter, after.clusters().get(1));
    assertThat(ordersAfter).isNotSameAs(ordersBefore);
  }

  /**
   * The one-pass comparison of two name-ordered lists against sets and maps of their names, over
   * random lists where shared names are mostly the same object and sometimes a changed one.
   */
  @Test
  void aMergeOfTwoNameOrderedListsFindsWhatSetsOfTheirNamesFind() {
    java.util.Random random = new java.util.Random(20261205);
    for (int round = 0; round < 500; round++) {
      java.util.TreeMap<String, Cluster> before = new java.util.TreeMap<>();
      java.util.TreeMap<String, Cluster> after = new java.util.TreeMap<>();
      // Short lists too, where a removal or an addition is often the last name.
      int names = round % 2 == 0 ? 30 : random.nextInt(6);
      for (int i = 0; i < names; i++) {
        String name = "c" + random.nextInt(40);
        Cluster cluster = Cluster.newBuilder().setName(name).build();
        switch (random.nextInt(4)) {
          case 0 -> before.put(name, cluster);
          case 1 -> after.put(name, cluster);
          case 2 -> {
            before.put(name, cluster);
            after.put(name, cluster);
          }
          default -> {
            before.put(name, cluster);
            after.put(name, cluster.toBuilder().setAltStatName("changed").build());
          }
        }
      }
      java.util.TreeMap<String, Cluster> union = new java.util.TreeMap<>(before);
      union.putAll(after);
      java.util.Set<String> added = new java.util.TreeSet<>(after.keySet());
      added.removeAll(before.keySet());

      MakeBeforeBreak.Merged<Cluster> merged =
          MakeBeforeBreak.Merged.of(
              List.copyOf(before.values()), List.copyOf(after.values()), Cluster::getName);

      assertThat(merged.added()).as("round %d", round).isEqualTo(added);
      assertThat(merged.removes())
          .as("round %d", round)
          .isEqualTo(!after.keySet().containsAll(before.keySet()));
      assertThat(merged.union()).as("round %d", round).containsExactlyElementsOf(union.values());
    }
  }
}
