package io.signalbox.xds;

import static io.signalbox.translate.PolicyHandover.NONE;
import static org.assertj.core.api.Assertions.assertThat;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.signalbox.config.GatewaySettings;
import io.signalbox.model.Instance;
import io.signalbox.model.MeshPolicy;
import io.signalbox.model.PathMatch;
import io.signalbox.model.Registration;
import io.signalbox.model.RegistryState;
import io.signalbox.model.RouteSpec;
import io.signalbox.model.UpstreamProtocol;
import io.signalbox.store.InMemoryRegistryStore;
import io.signalbox.store.LeasePolicy;
import io.signalbox.translate.GatewayTranslator;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A staged change for every group: a new service's cluster reaches the edge and every sidecar that
 * may call it in the ADD phase, with the routes they had; a sidecar scoped to other services has
 * nothing to stage.
 */
class StagedChangeTest {

  private final InMemoryRegistryStore store =
      new InMemoryRegistryStore(LeasePolicy.DEFAULT, () -> 0L);
  private final GatewayTranslator translator = new GatewayTranslator();
  private final SidecarSnapshots sidecars =
      new SidecarSnapshots(
          MeshIdentities.ephemeral("signalbox.local", Duration.ofHours(1), Clock.systemUTC()));

  private static Registration registration(String service, MeshPolicy mesh) {
    return new Registration(
        service,
        new Instance(service + "-1", "10.0.0.1", "10.0.0.1", 9000, "", 1, Map.of(), 8080),
        List.of(RouteSpec.builder(PathMatch.prefix("/" + service)).build()),
        "",
        List.of(),
        UpstreamProtocol.HTTP1,
        null,
        mesh);
  }

  @BeforeEach
  void ordersCallsEveryoneAndBillingOnlyUsers() {
    store.register(registration("users", MeshPolicy.OPEN), Optional.empty());
    store.register(registration("orders", MeshPolicy.OPEN), Optional.empty());
    store.register(
        registration("billing", new MeshPolicy(List.of(), List.of("users"))), Optional.empty());
  }

  @Test
  void aNewServicesClusterReachesTheEdgeAndTheSidecarsThatMayCallItBeforeAnyRouteToIt() {
    RegistryState before = store.state();
    ContentVersionedSnapshot from = snapshot(before);
    store.register(registration("inventory", MeshPolicy.OPEN), Optional.empty());
    RegistryState after = store.state();
    ContentVersionedSnapshot to = snapshot(after);

    StagedChange change =
        StagedChange.plan(
            List.of("edge", "sidecar/orders", "sidecar/billing"),
            group -> sidecars.base(group, from, before, GatewaySettings.DEFAULT, NONE),
            group -> sidecars.base(group, to, after, GatewaySettings.DEFAULT, NONE));

    var adding = change.phase(MakeBeforeBreak.Phase.ADD);
    assertThat(adding).containsOnlyKeys("edge", "sidecar/orders");
    for (StagedChange.GroupStage stage : adding.values()) {
      assertThat(stage.snapshot().resources().clusters())
          .extracting(Cluster::getName)
          .contains("svc-inventory");
    }
    assertThat(
            adding
                .get("sidecar/orders")
                .snapshot()
                .resources()
                .routes()
                .get(0)
                .getVirtualHostsList())
        .extracting(VirtualHost::getName)
        .as("orders' sidecar keeps the routes it had until the cluster is in place")
        .doesNotContain("inventory");
    assertThat(change.phase(MakeBeforeBreak.Phase.SWITCH)).isEmpty();
  }

  @Test
  void aLeavingServicesRouteGoesBeforeItsClusterOnTheSidecarsThatCalledIt() {
    var lease = store.register(registration("inventory", MeshPolicy.OPEN), Optional.empty());
    RegistryState before = store.state();
    ContentVersionedSnapshot from = snapshot(before);
    store.deregister(lease.id());
    RegistryState after = store.state();
    ContentVersionedSnapshot to = snapshot(after);

    StagedChange change =
        StagedChange.plan(
            List.of("sidecar/orders"),
            group -> sidecars.base(group, from, before, GatewaySettings.DEFAULT, NONE),
            group -> sidecars.base(group, to, after, GatewaySettings.DEFAULT, NONE));

    StagedChange.GroupStage switching =
        change.phase(MakeBeforeBreak.Phase.SWITCH).get("sidecar/orders");
    assertThat(switching.snapshot().resources().routes().get(0).getVirtualHostsList())
        .extracting(VirtualHost::getName)
        .doesNotContain("inventory");
    assertThat(switching.snapshot().resources().clusters())
        .extracting(Cluster::getName)
        .contains("svc-inventory");
  }

  private ContentVersionedSnapshot snapshot(RegistryState state) {
    return ContentVersionedSnapshot.of(translator.translate(state, GatewaySettings.DEFAULT));
  }
}
