package io.signalbox.xds;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.signalbox.config.GatewaySettings;
import io.signalbox.model.RegistryState;
import io.signalbox.store.InMemoryRegistryStore;
import io.signalbox.store.LeasePolicy;
import io.signalbox.translate.GatewayTranslator;
import io.signalbox.translate.PolicyHandover;
import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The first Envoy of a group has the group made its snapshot before its requests are watched; a
 * second Envoy of the group arriving meanwhile waits for that snapshot too, rather than opening
 * watches on a group without one (which an empty type would then never answer).
 */
class GroupSeenTest {

  private final CountDownLatch making = new CountDownLatch(1);
  private final CountDownLatch mayFinish = new CountDownLatch(1);
  private final XdsSnapshotCache cache = new XdsSnapshotCache(new NodeGroups());
  private SnapshotPublisher publisher;

  /** Makes every group its fleet's snapshot; the first time for "slow", only when let. */
  private final GroupSnapshots slowFirstTime =
      new GroupSnapshots() {
        @Override
        public ContentVersionedSnapshot base(
            String group,
            ContentVersionedSnapshot fleet,
            RegistryState state,
            GatewaySettings settings,
            PolicyHandover handover) {
          if (group.equals("slow") && making.getCount() > 0) {
            making.countDown();
            try {
              mayFinish.await(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
            }
          }
          return fleet;
        }

        @Override
        public ContentVersionedSnapshot withCertificateRenewed(
            String group, ContentVersionedSnapshot held, GatewaySettings settings) {
          return held;
        }

        @Override
        public void forget(String group, Collection<String> remaining) {}

        @Override
        public Optional<Instant> certificateExpiry(String group, GatewaySettings settings) {
          return Optional.empty();
        }
      };

  @AfterEach
  void stop() {
    mayFinish.countDown();
    publisher.close();
  }

  @Test
  void aSecondEnvoyOfAGroupBeingMadeItsFirstSnapshotWaitsForIt() throws Exception {
    publisher =
        SnapshotPublisher.builder(
                new InMemoryRegistryStore(LeasePolicy.DEFAULT, () -> 0L),
                GatewaySettings.DEFAULT,
                new GatewayTranslator(),
                cache)
            .sidecars(slowFirstTime)
            .build();
    publisher.start();
    CompletableFuture<Void> first = CompletableFuture.runAsync(() -> publisher.groupSeen("slow"));
    assertThat(making.await(5, TimeUnit.SECONDS)).isTrue();

    CompletableFuture<Void> second = CompletableFuture.runAsync(() -> publisher.groupSeen("slow"));

    assertThat(second).as("returns only once the group has its snapshot").isNotCompleted();
    Thread.sleep(200);
    assertThat(second).isNotCompleted();
    mayFinish.countDown();
    await().atMost(Duration.ofSeconds(5)).until(() -> first.isDone() && second.isDone());
    assertThat(cache.getSnapshot("slow")).isNotNull();
  }
}
