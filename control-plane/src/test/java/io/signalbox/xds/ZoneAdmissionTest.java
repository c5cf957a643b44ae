package io.signalbox.xds;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.envoyproxy.controlplane.cache.v3.SimpleCache;
import io.signalbox.config.GatewaySettings;
import io.signalbox.model.Instance;
import io.signalbox.model.PathMatch;
import io.signalbox.model.Registration;
import io.signalbox.model.RouteSpec;
import io.signalbox.store.InMemoryRegistryStore;
import io.signalbox.store.LeasePolicy;
import io.signalbox.translate.GatewayTranslator;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Envoys name their zones, and every zone makes node groups that are made a snapshot on every
 * publication: the publisher keeps Envoys of at most {@link NodeGroups#MAX_ZONES} zones at once.
 */
class ZoneAdmissionTest {

  private final InMemoryRegistryStore store =
      new InMemoryRegistryStore(LeasePolicy.DEFAULT, () -> 0L);
  private final Set<String> connected = ConcurrentHashMap.newKeySet();
  private SnapshotPublisher publisher;

  @BeforeEach
  void start() {
    publisher =
        SnapshotPublisher.builder(
                store,
                GatewaySettings.plaintext("0.0.0.0", 10000),
                new GatewayTranslator(),
                new SimpleCache<>(new NodeGroups()))
            .coalescing(Duration.ZERO, Duration.ZERO)
            .forgetGroupsWithoutEnvoys(connected::contains)
            .build();
    publisher.start();
    for (int zone = 0; zone < NodeGroups.MAX_ZONES; zone++) {
      connect("edge@zone-" + zone);
    }
  }

  @AfterEach
  void stop() {
    publisher.close();
  }

  /** Whether a stream naming {@code zone} is admitted, its first request handled at once. */
  private boolean admitsAndReleases(String zone) {
    ZoneAdmission admission = publisher.zoneAdmission();
    boolean admitted = admission.admit(zone);
    if (admitted) {
      admission.release(zone);
    }
    return admitted;
  }

  private void connect(String group) {
    connected.add(group);
    publisher.groupSeen(group);
  }

  @Test
  void aNewZoneBeyondTheMostIsNotAdmitted() {
    assertThat(admitsAndReleases("zone-" + NodeGroups.MAX_ZONES)).isFalse();
  }

  @Test
  void zonesKeptAlreadyAndNoZoneAreAlwaysAdmitted() {
    assertThat(admitsAndReleases("zone-7")).isTrue();
    assertThat(admitsAndReleases("")).isTrue();
  }

  @Test
  void anotherFleetsGroupInAZoneKeptAlreadyTakesNoNewZone() {
    connect("sidecar/orders@zone-7");

    assertThat(admitsAndReleases("zone-" + NodeGroups.MAX_ZONES)).isFalse();
    assertThat(publisher.groups()).hasSize(NodeGroups.MAX_ZONES + 1);
  }

  @Test
  void aZoneWhoseEnvoysAllLeftFreesItsPlaceOnceItsGroupsAreForgotten() {
    connected.remove("edge@zone-7");
    assertThat(admitsAndReleases("zone-" + NodeGroups.MAX_ZONES))
        .as("kept until the next publication forgets it")
        .isFalse();

    publishAChangeForgetting("edge@zone-7");

    assertThat(admitsAndReleases("zone-" + NodeGroups.MAX_ZONES)).isTrue();
  }

  @Test
  void aNewZoneCountsFromItsAdmissionUntilItsFirstRequestIsHandled() {
    zone7sEnvoysLeaveAndAChangeIsPublished();
    ZoneAdmission admission = publisher.zoneAdmission();
    String next = "zone-" + NodeGroups.MAX_ZONES;
    String beyond = "zone-" + (NodeGroups.MAX_ZONES + 1);

    assertThat(admission.admit(next)).isTrue();
    assertThat(admission.admit(next)).as("another Envoy of it at the same time").isTrue();
    assertThat(admitsAndReleases(beyond))
        .as("a burst of new zones cannot all pass before their groups are made")
        .isFalse();

    admission.release(next);
    assertThat(admitsAndReleases(beyond))
        .as("the other Envoy's request is still handled")
        .isFalse();
    admission.release(next);
    assertThat(admitsAndReleases(beyond))
        .as("both requests ended without making a group: the zone counts no more")
        .isTrue();
  }

  @Test
  void anAdmittedZoneStaysCountedOnceItsGroupIsMade() {
    zone7sEnvoysLeaveAndAChangeIsPublished();
    ZoneAdmission admission = publisher.zoneAdmission();
    String next = "zone-" + NodeGroups.MAX_ZONES;

    assertThat(admission.admit(next)).isTrue();
    connect("edge@" + next);
    admission.release(next);

    assertThat(admitsAndReleases("zone-" + (NodeGroups.MAX_ZONES + 1))).isFalse();
  }

  @Test
  void aZoneStaysKeptWhileAnyOfItsGroupsIs() {
    connect("sidecar/orders@zone-7");
    connected.remove("edge@zone-7");

    publishAChangeForgetting("edge@zone-7");

    assertThat(admitsAndReleases("zone-" + NodeGroups.MAX_ZONES)).isFalse();
  }

  /** Frees one zone's place: its one group is forgotten at the next publication. */
  private void zone7sEnvoysLeaveAndAChangeIsPublished() {
    connected.remove("edge@zone-7");
    publishAChangeForgetting("edge@zone-7");
  }

  private void publishAChangeForgetting(String group) {
    store.register(
        new Registration(
            "orders",
            Instance.of("orders-" + System.nanoTime(), "10.0.1.1", 8080),
            List.of(RouteSpec.builder(PathMatch.prefix("/orders")).build())),
        Optional.empty());
    await().atMost(Duration.ofSeconds(5)).until(() -> !publisher.groups().contains(group));
  }
}
