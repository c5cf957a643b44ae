package io.signalbox.xds;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.envoyproxy.controlplane.cache.Resources.ResourceType;
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
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.awaitility.core.ConditionFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The publisher as operators steer it: pausing and resuming pushes, and the history of what it
 * published.
 */
class PausedPublishingTest {

  private static final String EDGE = "edge";

  private final XdsSnapshotCache cache = new XdsSnapshotCache(new NodeGroups());
  private final InMemoryRegistryStore store = new InMemoryRegistryStore(LeasePolicy.DEFAULT);
  private final SnapshotPublisher publisher =
      SnapshotPublisher.builder(store, GatewaySettings.DEFAULT, new GatewayTranslator(), cache)
          .coalescing(Duration.ofMillis(1), Duration.ofMillis(50))
          .build();

  private static ConditionFactory eventually() {
    return await()
        .atMost(Duration.ofSeconds(2))
        .pollDelay(Duration.ZERO)
        .pollInterval(Duration.ofMillis(2));
  }

  private void register(String service) {
    store.register(
        new Registration(
            service,
            Instance.of(service + "-1", "10.0.0.1", 8080),
            List.of(RouteSpec.builder(PathMatch.prefix("/" + service)).build())),
        Optional.empty());
  }

  private Set<String> clustersSentTo(String group) {
    var snapshot = cache.getSnapshot(group);
    return snapshot == null ? Set.of() : snapshot.resources(ResourceType.CLUSTER).keySet();
  }

  @BeforeEach
  void start() {
    publisher.start();
    publisher.groupSeen(EDGE);
    eventually().until(() -> cache.getSnapshot(EDGE) != null);
  }

  @AfterEach
  void stop() {
    publisher.close();
  }

  @Test
  void whilePausedNothingNewIsPublishedAndResumePublishesTheNewestState() {
    var before = cache.getSnapshot(EDGE);

    publisher.pause();
    register("orders");

    await()
        .during(Duration.ofMillis(100))
        .atMost(Duration.ofSeconds(1))
        .until(() -> cache.getSnapshot(EDGE) == before);
    assertThat(publisher.pausedSince()).isPresent();
    assertThat(publisher.changesPending()).isTrue();

    publisher.resume();

    eventually().until(() -> clustersSentTo(EDGE).contains("svc-orders"));
    assertThat(publisher.pausedSince()).isEmpty();
    assertThat(publisher.changesPending()).isFalse();
  }

  @Test
  void aGroupThatConnectsWhilePausedGetsWhatTheOthersHave() {
    publisher.pause();
    register("orders");

    publisher.groupSeen("late");

    assertThat(cache.getSnapshot("late")).isSameAs(cache.getSnapshot(EDGE));
    assertThat(clustersSentTo("late")).isEmpty();
  }

  @Test
  void everyPublicationIsRecordedWithTheServicesThatCausedIt() {
    register("orders");
    eventually().until(() -> clustersSentTo(EDGE).contains("svc-orders"));

    SnapshotHistory.Entry latest = publisher.history().latest(1).get(0);

    assertThat(latest.version()).isEqualTo(publisher.current().version());
    assertThat(latest.services())
        .containsExactly(Map.entry("orders", SnapshotHistory.ServiceChange.ADDED));
    assertThat(publisher.history().latest(10)).hasSize(2);
  }

  @Test
  void changesMadeWhilePausedAreAttributedToTheSnapshotPublishedOnResume() {
    publisher.pause();
    register("orders");
    register("users");

    publisher.resume();
    eventually().until(() -> clustersSentTo(EDGE).contains("svc-users"));

    assertThat(publisher.history().latest(1).get(0).services()).containsOnlyKeys("orders", "users");
  }

  @Test
  void aSettingsChangeIsRecordedAsSuch() {
    publisher.updateSettings(GatewaySettings.plaintext("127.0.0.1", 10001));
    eventually().until(() -> publisher.history().latest(10).size() == 2);

    SnapshotHistory.Entry latest = publisher.history().latest(1).get(0);
    assertThat(latest.settingsChanged()).isTrue();
    assertThat(latest.services()).isEmpty();
    assertThat(latest.changes()).containsOnlyKeys("listeners");
  }
}
