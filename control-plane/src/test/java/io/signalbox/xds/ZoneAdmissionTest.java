package io.signalbox.xds;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

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
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/**
 * Envoys name their zones, and every zone makes node groups that are made a snapshot on every
 * publication: the publisher keeps the Envoys of one fleet in at most {@link
 * NodeGroups#MAX_ZONES_PER_FLEET} zones at once, and of all fleets in at most {@link
 * NodeGroups#MAX_ZONES}.
 */
class ZoneAdmissionTest {

  private final InMemoryRegistryStore store =
      new InMemoryRegistryStore(LeasePolicy.DEFAULT, () -> 0L);
  private final Set<String> connected = ConcurrentHashMap.newKeySet();
  private SnapshotPublisher publisher;

  @BeforeEach
  void startPublisher() {
    publisher =
        SnapshotPublisher.builder(
                store,
                GatewaySettings.plaintext("0.0.0.0", 10000),
                new GatewayTranslator(),
                new XdsSnapshotCache(new NodeGroups()))
            .coalescing(Duration.ZERO, Duration.ZERO)
            .forgetGroupsWithoutEnvoys(connected::contains)
            .build();
    publisher.start();
  }

  @AfterEach
  void stop() {
    publisher.close();
  }

  /** One fleet's Envoys span as many zones as one fleet's may: edge@zone-0 to edge@zone-63. */
  @Nested
  class WhenAFleetSpansTheMostZonesOfAFleet {

    private static final int MOST = NodeGroups.MAX_ZONES_PER_FLEET;

    @BeforeEach
    void fill() {
      for (int zone = 0; zone < MOST; zone++) {
        connect("edge@zone-" + zone);
      }
    }

    @Test
    void aNewZoneOfThatFleetIsRefusedNamingTheFieldTheFleetAndTheZone() {
      assertThat(refusal("edge", "zone-" + MOST))
          .hasValue(
              "node.locality.zone: the Envoys of fleet 'edge' span "
                  + MOST
                  + " zones, the most Signalbox keeps for one fleet; zone 'zone-"
                  + MOST
                  + "' is not taken");
    }

    @Test
    void anotherFleetStillTakesNewZones() {
      assertThat(admitsAndReleases("internal", "zone-" + MOST)).isTrue();
      assertThat(admitsAndReleases("sidecar/orders", "zone-" + (MOST + 1))).isTrue();
    }

    @Test
    void zonesTheFleetHoldsAlreadyAndNoZoneAreAlwaysAdmitted() {
      assertThat(admitsAndReleases("edge", "zone-7")).isTrue();
      assertThat(admitsAndReleases("edge", "")).isTrue();
    }

    @Test
    void aZoneWhoseEnvoysAllLeftFreesItsPlaceOnceItsGroupIsForgotten() {
      connected.remove("edge@zone-7");
      assertThat(admitsAndReleases("edge", "zone-" + MOST))
          .as("kept until the next publication forgets it")
          .isFalse();

      publishAChangeForgetting("edge@zone-7");

      assertThat(admitsAndReleases("edge", "zone-" + MOST)).isTrue();
    }

    @Test
    void aZoneAnotherFleetKeepsFreesThisFleetsPlaceAllTheSame() {
      connect("internal@zone-7");
      connected.remove("edge@zone-7");

      publishAChangeForgetting("edge@zone-7");

      assertThat(admitsAndReleases("edge", "zone-" + MOST)).isTrue();
    }

    @Test
    void aNewZoneCountsFromItsAdmissionUntilItsFirstRequestIsHandled() {
      connected.remove("edge@zone-7");
      publishAChangeForgetting("edge@zone-7");
      ZoneAdmission admission = publisher.zoneAdmission();
      String next = "zone-" + MOST;
      String beyond = "zone-" + (MOST + 1);

      assertThat(admission.admit("edge", next)).isEmpty();
      assertThat(admission.admit("edge", next))
          .as("another Envoy of it at the same time")
          .isEmpty();
      assertThat(admitsAndReleases("edge", beyond))
          .as("a burst of new zones cannot all pass before their groups are made")
          .isFalse();

      admission.release("edge", next);
      assertThat(admitsAndReleases("edge", beyond))
          .as("the other Envoy's request is still handled")
          .isFalse();
      admission.release("edge", next);
      assertThat(admitsAndReleases("edge", beyond))
          .as("both requests ended without making a group: the zone counts no more")
          .isTrue();
    }

    @Test
    void anAdmittedZoneStaysCountedOnceItsGroupIsMade() {
      connected.remove("edge@zone-7");
      publishAChangeForgetting("edge@zone-7");
      ZoneAdmission admission = publisher.zoneAdmission();
      String next = "zone-" + MOST;

      assertThat(admission.admit("edge", next)).isEmpty();
      connect("edge@" + next);
      admission.release("edge", next);

      assertThat(admitsAndReleases("edge", "zone-" + (MOST + 1))).isFalse();
    }
  }

  /**
   * The fleets' Envoys span as many zones as all fleets' may, each fleet as many as it may:
   * fleet-0@zone-0 to fleet-3@zone-255.
   */
  @Nested
  class WhenTheFleetsSpanTheMostZones {

    private static final int MOST = NodeGroups.MAX_ZONES;

    @BeforeEach
    void fill() {
      for (int zone = 0; zone < MOST; zone++) {
        connect(fleetOfZone(zone) + "@zone-" + zone);
      }
    }

    private static String fleetOfZone(int zone) {
      return "fleet-" + zone / NodeGroups.MAX_ZONES_PER_FLEET;
    }

    @Test
    void aNewZoneIsRefusedNamingTheFieldAndTheZone() {
      assertThat(refusal("fleet-4", "zone-" + MOST))
          .hasValue(
              "node.locality.zone: the node groups kept span "
                  + MOST
                  + " zones, the most Signalbox keeps; zone 'zone-"
                  + MOST
                  + "' is not taken");
    }

    @Test
    void anotherFleetTakesAZoneKeptAlready() {
      assertThat(admitsAndReleases("fleet-4", "zone-7")).isTrue();
      assertThat(admitsAndReleases("fleet-4", "")).isTrue();
    }

    @Test
    void anotherFleetsGroupInAZoneKeptAlreadyTakesNoNewZone() {
      connect("sidecar/orders@zone-7");

      assertThat(admitsAndReleases("fleet-4", "zone-" + MOST)).isFalse();
      assertThat(publisher.groups()).hasSize(MOST + 1);
    }

    @Test
    void aZoneStaysKeptWhileAnyFleetsGroupOfItIs() {
      connect("sidecar/orders@zone-7");
      connected.remove(fleetOfZone(7) + "@zone-7");

      publishAChangeForgetting(fleetOfZone(7) + "@zone-7");

      assertThat(admitsAndReleases("fleet-4", "zone-" + MOST)).isFalse();
    }

    @Test
    void aZoneWhoseEnvoysAllLeftFreesItsPlaceOnceItsGroupIsForgotten() {
      connected.remove(fleetOfZone(7) + "@zone-7");

      publishAChangeForgetting(fleetOfZone(7) + "@zone-7");

      assertThat(admitsAndReleases("fleet-4", "zone-" + MOST)).isTrue();
    }
  }

  /** Why a stream of {@code fleet} naming {@code zone} is refused; its first request handled. */
  private Optional<String> refusal(String fleet, String zone) {
    ZoneAdmission admission = publisher.zoneAdmission();
    Optional<String> refused = admission.admit(fleet, zone);
    if (refused.isEmpty()) {
      admission.release(fleet, zone);
    }
    return refused;
  }

  /** Whether a stream of {@code fleet} naming {@code zone} is admitted, its request handled. */
  private boolean admitsAndReleases(String fleet, String zone) {
    return refusal(fleet, zone).isEmpty();
  }

  private void connect(String group) {
    connected.add(group);
    publisher.groupSeen(group);
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
