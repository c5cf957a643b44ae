package io.signalbox.xds;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.envoyproxy.controlplane.cache.Resources.ResourceType;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.signalbox.config.GatewaySettings;
import io.signalbox.model.Instance;
import io.signalbox.model.PathMatch;
import io.signalbox.model.Registration;
import io.signalbox.model.RouteSpec;
import io.signalbox.store.InMemoryRegistryStore;
import io.signalbox.store.LeasePolicy;
import io.signalbox.testing.TestClock;
import io.signalbox.translate.GatewayTranslator;
import io.signalbox.translate.XdsNames;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Workload certificates are renewed at half their life by publications; while publishing is held
 * (here paused by an operator) the groups keep what they hold but for their certificates, so a hold
 * longer than a certificate lives does not end mutual TLS across the mesh.
 */
class HeldCertificateRenewalTest {

  private static final String USERS_SIDECARS = "sidecar/users";
  private static final Duration VALIDITY = Duration.ofHours(1);

  private final TestClock clock = new TestClock(Duration.ofDays(20_000));
  private final XdsSnapshotCache cache = new XdsSnapshotCache(new NodeGroups());
  private final InMemoryRegistryStore store =
      new InMemoryRegistryStore(LeasePolicy.DEFAULT, () -> 0L);
  private SnapshotPublisher publisher;

  /** Whether the Envoys are stuck: a staged change waits out its stage timeout. */
  private final java.util.concurrent.atomic.AtomicBoolean stuck =
      new java.util.concurrent.atomic.AtomicBoolean();

  @BeforeEach
  void usersSidecarsHoldTheirCertificate() {
    store.register(
        new Registration(
            "users",
            new Instance("users-1", "10.0.2.1", "10.0.2.1", 15006, "", 1, Map.of(), 8080),
            List.of(RouteSpec.builder(PathMatch.prefix("/users")).build()),
            ""),
        Optional.empty());
    publisher =
        SnapshotPublisher.builder(store, GatewaySettings.DEFAULT, new GatewayTranslator(), cache)
            .coalescing(Duration.ZERO, Duration.ZERO)
            .stageChanges((group, type, required, snapshot) -> !stuck.get(), Duration.ofSeconds(2))
            .clock(clock)
            .sidecars(
                new SidecarSnapshots(
                    MeshIdentities.ephemeral(
                        GatewaySettings.DEFAULT.access().trustDomain(), VALIDITY, clock)))
            .build();
    publisher.start();
    publisher.groupSeen(USERS_SIDECARS);
    await().atMost(Duration.ofSeconds(5)).until(() -> cache.getSnapshot(USERS_SIDECARS) != null);
  }

  @AfterEach
  void stop() {
    publisher.close();
  }

  private Secret identitySent() {
    return (Secret)
        cache
            .getSnapshot(USERS_SIDECARS)
            .resources(ResourceType.SECRET)
            .get(XdsNames.MESH_IDENTITY_SECRET);
  }

  private java.util.Set<String> clustersSent() {
    return cache.getSnapshot(USERS_SIDECARS).resources(ResourceType.CLUSTER).keySet();
  }

  private void registerOrders() {
    store.register(
        new Registration(
            "orders",
            Instance.of("orders-1", "10.0.0.1", 8080),
            List.of(RouteSpec.builder(PathMatch.prefix("/orders")).build())),
        Optional.empty());
  }

  @Test
  void aStageHeldByAPauseIsRenewedAsItIsNotTakenBack() {
    stuck.set(true);
    registerOrders();
    // The new cluster is added first, and the Envoys never say they applied it.
    await()
        .atMost(Duration.ofSeconds(5))
        .until(() -> clustersSent().contains(XdsNames.serviceCluster("orders")));
    publisher.pause();
    Secret issued = identitySent();

    clock.advance(VALIDITY.dividedBy(2).plusMinutes(1));
    publisher.requestPublish();

    await()
        .atMost(Duration.ofSeconds(10))
        .untilAsserted(() -> assertThat(identitySent()).isNotEqualTo(issued));
    assertThat(clustersSent())
        .as("the stage the sidecars hold, with its new cluster")
        .contains(XdsNames.serviceCluster("orders"));
  }

  @Test
  void whilePausedTheSidecarsAreSentTheirRenewedCertificateAndNothingElse() {
    Secret issued = identitySent();
    var clustersHeld = cache.getSnapshot(USERS_SIDECARS).resources(ResourceType.CLUSTER).keySet();

    publisher.pause();
    registerOrders();
    clock.advance(VALIDITY.dividedBy(2).plusMinutes(1));
    publisher.requestPublish();

    await()
        .atMost(Duration.ofSeconds(5))
        .untilAsserted(() -> assertThat(identitySent()).isNotEqualTo(issued));
    assertThat(cache.getSnapshot(USERS_SIDECARS).resources(ResourceType.CLUSTER).keySet())
        .as("the change made while paused is not sent")
        .isEqualTo(clustersHeld)
        .doesNotContain(XdsNames.serviceCluster("orders"));
    assertThat(publisher.certificateExpiry(USERS_SIDECARS))
        .hasValueSatisfying(
            expiry -> assertThat(expiry).isAfter(clock.instant().plus(VALIDITY.dividedBy(2))));
  }
}
