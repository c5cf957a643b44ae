package io.signalbox.xds;

import static org.assertj.core.api.Assertions.assertThat;

import io.envoyproxy.controlplane.cache.Resources.ResourceType;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
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
import org.junit.jupiter.api.Test;

/** The order in which a change reaches Envoy: nothing a route points at is ever missing. */
class MakeBeforeBreakTest {

  private static XdsResources gatewayWith(String... services) {
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
        .containsExactly(
            new MakeBeforeBreak.Wait(ResourceType.CLUSTER, Set.of()),
            new MakeBeforeBreak.Wait(ResourceType.ENDPOINT, Set.of("svc-billing")));
    assertThat(stages.get(1).resources()).isEqualTo(after);
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
}
