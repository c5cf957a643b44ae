package io.signalbox.xds;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.awaitility.Awaitility.await;

import io.envoyproxy.controlplane.cache.v3.Snapshot;
import io.signalbox.config.GatewaySettings;
import io.signalbox.model.Instance;
import io.signalbox.model.PathMatch;
import io.signalbox.model.Registration;
import io.signalbox.model.RouteSpec;
import io.signalbox.store.InMemoryRegistryStore;
import io.signalbox.store.LeasePolicy;
import io.signalbox.testing.TestClock;
import io.signalbox.testing.TestRegistrations;
import io.signalbox.translate.GatewayTranslator;
import io.signalbox.translate.XdsNames;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * One node group whose snapshot cannot be made (here: its sidecars' workload certificate cannot be
 * issued, the mesh CA having expired before they first connected) keeps what it has, loudly, and
 * every other group is still sent every change, staged or not.
 */
class GroupSnapshotFailureTest {

  private static final String EDGE = "edge";
  private static final String ORDERS_SIDECARS = "sidecar/orders";
  private static final String USERS_SIDECARS = "sidecar/users";

  private final TestClock clock =
      new TestClock(Duration.ofMillis(Instant.parse("2026-12-07T00:00:00Z").toEpochMilli()));
  private final InMemoryRegistryStore store =
      new InMemoryRegistryStore(LeasePolicy.DEFAULT, () -> 0L);
  private final XdsSnapshotCache cache = new XdsSnapshotCache(new NodeGroups());
  private SnapshotPublisher publisher;

  /** Envoys of every group seen are connected and hold what they were sent. */
  private final NackQuarantine.Fleet connectedFleet =
      new NackQuarantine.Fleet() {
        @Override
        public List<ProxyStatusTracker.ProxyStatus> proxies() {
          return List.of();
        }

        @Override
        public Optional<FleetVerdict.Kind> verdictWithoutRejections(
            java.util.function.Function<String, ContentVersionedSnapshot> sent) {
          publisher.groups().forEach(sent::apply);
          return Optional.of(FleetVerdict.Kind.ACCEPTED);
        }
      };

  @BeforeEach
  void ordersAndUsersHaveSidecars() {
    store.register(behindASidecar("orders", "10.0.1.1"), Optional.empty());
    store.register(behindASidecar("users", "10.0.2.1"), Optional.empty());
    publisher =
        SnapshotPublisher.builder(
                store, GatewaySettings.plaintext("0.0.0.0", 10000), new GatewayTranslator(), cache)
            .coalescing(Duration.ZERO, Duration.ZERO)
            .sidecars(
                new SidecarSnapshots(
                    MeshIdentities.ephemeral("signalbox.local", Duration.ofHours(1), clock)))
            // Staged: a new service's clusters go out before its routes, each stage applied at
            // once.
            .stageChanges((group, type, required, snapshot) -> true, Duration.ofSeconds(5))
            // As the control plane runs it: before each publication the quarantine judges what
            // every connected group was sent, the group that cannot be made too.
            .quarantine(store, connectedFleet, Duration.ofSeconds(5))
            .build();
    publisher.start();
    publisher.groupSeen(EDGE);
    publisher.groupSeen(ORDERS_SIDECARS);
    // The mesh CA (valid a year) expires; orders' sidecars keep the certificate they hold.
    clock.advance(Duration.ofDays(400));
  }

  @AfterEach
  void stop() {
    publisher.close();
  }

  private static Registration behindASidecar(String service, String address) {
    return new Registration(
        service,
        TestRegistrations.instance(service + "-1", address, 15006, 8080),
        List.of(RouteSpec.builder(PathMatch.prefix("/" + service)).build()),
        "");
  }

  private Snapshot sent(String group) {
    return cache.getSnapshot(group);
  }

  private static boolean hasCluster(Snapshot snapshot, String service) {
    return snapshot != null
        && ((ContentVersionedSnapshot) snapshot)
            .resources(io.envoyproxy.controlplane.cache.Resources.ResourceType.CLUSTER)
            .containsKey(XdsNames.serviceCluster(service));
  }

  @Test
  void anEnvoyOfAGroupThatCannotBeMadeConnectsWithoutFailingAndGetsNothing() {
    assertThatCode(() -> publisher.groupSeen(USERS_SIDECARS)).doesNotThrowAnyException();

    assertThat(sent(USERS_SIDECARS)).isNull();
    assertThat(publisher.groups()).contains(USERS_SIDECARS);
  }

  @Test
  void everyOtherGroupIsStillSentAStagedChange() {
    publisher.groupSeen(USERS_SIDECARS);

    store.register(
        new Registration(
            "billing",
            Instance.of("billing-1", "10.0.3.1", 8080),
            List.of(RouteSpec.builder(PathMatch.prefix("/billing")).build())),
        Optional.empty());

    await()
        .atMost(Duration.ofSeconds(10))
        .until(() -> hasCluster(sent(EDGE), "billing") && !publisher.changesPending());
    assertThat(sent(ORDERS_SIDECARS))
        .as("unscoped: it may call billing")
        .satisfies(snapshot -> assertThat(hasCluster(snapshot, "billing")).isTrue());
    assertThat(sent(USERS_SIDECARS)).isNull();
  }
}
