package io.signalbox.xds;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.envoyproxy.controlplane.cache.Resources.ResourceType;
import io.signalbox.config.GatewaySettings;
import io.signalbox.model.Instance;
import io.signalbox.model.PathMatch;
import io.signalbox.model.Registration;
import io.signalbox.model.RegistryState;
import io.signalbox.model.RouteSpec;
import io.signalbox.model.ServiceState;
import io.signalbox.store.InMemoryRegistryStore;
import io.signalbox.store.Lease;
import io.signalbox.store.LeasePolicy;
import io.signalbox.store.RegistryView;
import io.signalbox.translate.GatewayTranslator;
import io.signalbox.translate.PolicyHandover;
import io.signalbox.translate.Translator;
import io.signalbox.translate.XdsNames;
import io.signalbox.translate.XdsResources;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import org.awaitility.core.ConditionFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/**
 * The pipeline: registry changes in, coalesced content-versioned snapshots out, the same one for
 * every group.
 */
class SnapshotPublisherTest {

  private static final Duration QUIET = Duration.ofMillis(5);
  private static final Duration MAX_DELAY = Duration.ofMillis(100);
  private static final Duration PATIENCE = Duration.ofSeconds(2);
  private static final String EDGE = "edge";

  private final XdsSnapshotCache cache = new XdsSnapshotCache(new NodeGroups());
  private final List<SnapshotPublisher> started = new CopyOnWriteArrayList<>();

  private SnapshotPublisher start(
      RegistryView store, Translator translator, Duration quiet, Duration maxDelay) {
    SnapshotPublisher publisher =
        SnapshotPublisher.builder(store, GatewaySettings.DEFAULT, translator, cache)
            .coalescing(quiet, maxDelay)
            .build();
    started.add(publisher);
    publisher.start();
    return publisher;
  }

  /** Polls often: every wait here is for a pipeline that reacts within milliseconds. */
  private static ConditionFactory eventually() {
    return await().atMost(PATIENCE).pollDelay(Duration.ZERO).pollInterval(Duration.ofMillis(2));
  }

  @AfterEach
  void closePublishers() {
    started.forEach(SnapshotPublisher::close);
  }

  private static Registration registration(String service, String instanceId) {
    return new Registration(
        service,
        Instance.of(instanceId, "10.0.0.1", 8080),
        List.of(RouteSpec.builder(PathMatch.prefix("/" + service)).build()));
  }

  private static Set<String> clusterNames(io.envoyproxy.controlplane.cache.v3.Snapshot snapshot) {
    return snapshot == null ? Set.of() : snapshot.resources(ResourceType.CLUSTER).keySet();
  }

  private static Set<Thread> pipelineThreads() {
    return Thread.getAllStackTraces().keySet().stream()
        .filter(thread -> thread.getName().equals("signalbox-pipeline"))
        .collect(Collectors.toSet());
  }

  @Nested
  class WithTheGatewayTranslator {

    private final InMemoryRegistryStore store = new InMemoryRegistryStore(LeasePolicy.DEFAULT);
    private final CountingTranslator translator = new CountingTranslator(new GatewayTranslator());
    private SnapshotPublisher publisher;

    private void startAndAwaitTheFirstSnapshot() {
      publisher = start(store, translator, QUIET, MAX_DELAY);
      publisher.groupSeen(EDGE);
      eventually().until(() -> cache.getSnapshot(EDGE) != null);
    }

    @Test
    void publishesTheStateItStartsWith() {
      store.register(registration("orders", "o1"), Optional.empty());

      startAndAwaitTheFirstSnapshot();

      assertThat(clusterNames(publisher.current()))
          .containsExactly(XdsNames.serviceCluster("orders"));
      assertThat(cache.getSnapshot(EDGE)).isSameAs(publisher.current());
      assertThat(publisher.snapshotsBuilt()).isEqualTo(1);
    }

    @Test
    void publishesAnEmptyRegistryWithItsListenerAndRouteConfiguration() {
      startAndAwaitTheFirstSnapshot();

      ContentVersionedSnapshot snapshot = publisher.current();
      assertThat(snapshot.resources(ResourceType.LISTENER)).hasSize(1);
      assertThat(snapshot.resources(ResourceType.ROUTE)).hasSize(1);
      assertThat(snapshot.resources(ResourceType.CLUSTER)).isEmpty();
    }

    @Test
    void coalescesABurstOfRegistrationsIntoAHandfulOfSnapshots() {
      startAndAwaitTheFirstSnapshot();
      long builtBefore = publisher.snapshotsBuilt();

      for (int i = 0; i < 100; i++) {
        store.register(registration("svc" + i, "i1"), Optional.empty());
      }

      eventually().until(() -> clusterNames(cache.getSnapshot(EDGE)).size() == 100);
      assertThat(publisher.snapshotsBuilt() - builtBefore).isBetween(1L, 10L);
      assertThat(cache.getSnapshot(EDGE)).isSameAs(publisher.current());
    }

    @Test
    void publishesALoneRegistrationPromptly() {
      startAndAwaitTheFirstSnapshot();

      store.register(registration("orders", "o1"), Optional.empty());

      eventually().until(() -> clusterNames(cache.getSnapshot(EDGE)).size() == 1);
    }

    @Test
    void publishesADeregistration() {
      Lease lease = store.register(registration("orders", "o1"), Optional.empty());
      startAndAwaitTheFirstSnapshot();

      store.deregister(lease.id());

      eventually().until(() -> clusterNames(cache.getSnapshot(EDGE)).isEmpty());
    }

    @Test
    void buildsNoNewSnapshotWhenReRegistrationsChangeNothing() {
      for (int i = 0; i < 10; i++) {
        store.register(registration("svc" + i, "i1"), Optional.empty());
      }
      startAndAwaitTheFirstSnapshot();
      ContentVersionedSnapshot before = publisher.current();
      long builtBefore = publisher.snapshotsBuilt();
      int translationsBefore = translator.calls.get();

      for (int i = 0; i < 10; i++) {
        store.register(registration("svc" + i, "i1"), Optional.empty());
      }
      publisher.requestPublish();

      // Nothing may happen: watch for longer than the maximum delay, by which any publication would
      // have been made.
      eventually()
          .during(MAX_DELAY.multipliedBy(2))
          .until(
              () ->
                  translator.calls.get() == translationsBefore
                      && publisher.snapshotsBuilt() == builtBefore);
      assertThat(publisher.current()).isSameAs(before);
      assertThat(cache.getSnapshot(EDGE)).isSameAs(before);
    }

    @Test
    void buildsExactlyOneSnapshotForOneRealChangeAfterNoOpReRegistrations() {
      store.register(registration("orders", "o1"), Optional.empty());
      startAndAwaitTheFirstSnapshot();
      long builtBefore = publisher.snapshotsBuilt();
      int translationsBefore = translator.calls.get();

      store.register(registration("orders", "o1"), Optional.empty());
      store.register(registration("billing", "b1"), Optional.empty());

      eventually().until(() -> clusterNames(cache.getSnapshot(EDGE)).size() == 2);
      assertThat(publisher.snapshotsBuilt()).isEqualTo(builtBefore + 1);
      assertThat(translator.calls).hasValue(translationsBefore + 1);
    }

    @Test
    void givesEveryGroupTheIdenticalSnapshotObject() {
      store.register(registration("orders", "o1"), Optional.empty());
      startAndAwaitTheFirstSnapshot();

      publisher.groupSeen("canary");
      store.register(registration("billing", "b1"), Optional.empty());
      eventually()
          .until(
              () ->
                  clusterNames(cache.getSnapshot("canary")).size() == 2
                      && clusterNames(cache.getSnapshot(EDGE)).size() == 2);

      assertThat(cache.getSnapshot("canary"))
          .isSameAs(cache.getSnapshot(EDGE))
          .isSameAs(publisher.current());
    }

    @Test
    void givesAGroupSeenLaterTheCurrentSnapshotAtOnce() {
      store.register(registration("orders", "o1"), Optional.empty());
      startAndAwaitTheFirstSnapshot();

      publisher.groupSeen("late");

      assertThat(cache.getSnapshot("late")).isSameAs(publisher.current());
    }

    @Test
    void seeingAGroupTwiceChangesNothing() {
      startAndAwaitTheFirstSnapshot();
      ContentVersionedSnapshot before = publisher.current();

      publisher.groupSeen(EDGE);

      assertThat(cache.getSnapshot(EDGE)).isSameAs(before);
      assertThat(publisher.snapshotsBuilt()).isEqualTo(1);
    }

    @Test
    void forgetsAGroupOnceItsEnvoysHaveAllGoneAndSendsItTheCurrentSnapshotWhenOneComesBack() {
      String zoneA = EDGE + "@zone-a";
      Set<String> connected = java.util.concurrent.ConcurrentHashMap.newKeySet();
      publisher =
          SnapshotPublisher.builder(store, GatewaySettings.DEFAULT, translator, cache)
              .coalescing(QUIET, MAX_DELAY)
              .forgetGroupsWithoutEnvoys(connected::contains)
              .build();
      started.add(publisher);
      publisher.start();
      connected.addAll(List.of(EDGE, zoneA));
      publisher.groupSeen(EDGE);
      publisher.groupSeen(zoneA);
      assertThat(cache.getSnapshot(zoneA)).isNotNull();

      connected.remove(zoneA);
      store.register(registration("orders", "o1"), Optional.empty());
      eventually().until(() -> clusterNames(cache.getSnapshot(EDGE)).size() == 1);

      assertThat(publisher.groups()).containsExactly(EDGE);
      assertThat(cache.getSnapshot(zoneA))
          .as("no snapshot made or kept for a group no Envoy fetches")
          .isNull();

      connected.add(zoneA);
      publisher.groupSeen(zoneA);
      assertThat(cache.getSnapshot(zoneA)).isSameAs(publisher.current());
      assertThat(clusterNames(cache.getSnapshot(zoneA))).hasSize(1);
    }

    @Test
    void publishesToNoGroupUntilOneIsSeen() {
      publisher = start(store, translator, QUIET, MAX_DELAY);

      eventually().until(() -> publisher.current() != null);
      assertThat(cache.getSnapshot(EDGE)).isNull();
      assertThat(cache.groups()).isEmpty();

      publisher.groupSeen(EDGE);
      eventually().until(() -> cache.getSnapshot(EDGE) == publisher.current());
    }

    @Test
    void closingStopsThePipelineThread() {
      Set<Thread> before = pipelineThreads();
      startAndAwaitTheFirstSnapshot();
      Set<Thread> ours = pipelineThreads();
      ours.removeAll(before);
      assertThat(ours).singleElement().satisfies(thread -> assertThat(thread.isDaemon()).isTrue());

      publisher.close();

      assertThat(ours).allSatisfy(thread -> assertThat(thread.isAlive()).isFalse());
    }
  }

  @Nested
  class WithAScriptedStore {

    private final ScriptedStore store = new ScriptedStore();
    private final CountingTranslator translator = new CountingTranslator(new GatewayTranslator());

    @Test
    void buildsNoNewSnapshotForANewRevisionWithEqualContent() {
      store.set(new RegistryState(1, services("orders")));
      SnapshotPublisher publisher = start(store, translator, QUIET, MAX_DELAY);
      publisher.groupSeen(EDGE);
      eventually().until(() -> cache.getSnapshot(EDGE) != null);
      ContentVersionedSnapshot first = publisher.current();

      store.set(new RegistryState(2, services("orders")));
      eventually().until(() -> translator.calls.get() == 2);

      assertThat(publisher.snapshotsBuilt()).isEqualTo(1);
      assertThat(publisher.current()).isSameAs(first);
      assertThat(cache.getSnapshot(EDGE)).isSameAs(first);
    }

    @Test
    void keepsRunningAfterATranslationFails() {
      store.set(new RegistryState(1, services("orders")));
      AtomicInteger failuresLeft = new AtomicInteger(1);
      Translator failingOnce =
          (state, settings, handover) -> {
            if (failuresLeft.getAndDecrement() > 0) {
              throw new IllegalStateException("translation failed (on purpose)");
            }
            return translator.translate(state, GatewaySettings.DEFAULT);
          };
      SnapshotPublisher publisher = start(store, failingOnce, QUIET, MAX_DELAY);
      publisher.groupSeen(EDGE);
      eventually().until(() -> failuresLeft.get() < 1);

      store.set(new RegistryState(2, services("orders", "billing")));

      eventually().until(() -> clusterNames(cache.getSnapshot(EDGE)).size() == 2);
    }

    @Test
    void doesNotPublishAnIncompleteTranslation() {
      store.set(new RegistryState(1, services("orders")));
      Translator withoutEndpoints =
          (state, settings, handover) -> {
            XdsResources complete = translator.translate(state, GatewaySettings.DEFAULT);
            return new XdsResources(
                complete.listeners(), complete.routes(), complete.clusters(), List.of(), List.of());
          };
      SnapshotPublisher publisher = start(store, withoutEndpoints, QUIET, MAX_DELAY);
      publisher.groupSeen(EDGE);

      eventually().until(() -> translator.calls.get() >= 1);
      publisher.requestPublish();
      eventually().until(() -> translator.calls.get() >= 2);

      assertThat(publisher.current()).isNull();
      assertThat(cache.getSnapshot(EDGE)).isNull();
    }

    @Test
    void publishesASteadyStreamOfChangesNoLaterThanTheMaximumDelay() {
      // The quiet period never elapses while changes keep coming; only the maximum delay ends the
      // wait.
      store.set(new RegistryState(1, services("svc0")));
      SnapshotPublisher publisher =
          start(store, translator, Duration.ofSeconds(1), Duration.ofMillis(50));
      publisher.groupSeen(EDGE);
      // The first snapshot is made at the start; what is timed is the next one, made of changes
      // that arrive within the quiet period of the last publication and of one another.
      io.envoyproxy.controlplane.cache.v3.Snapshot first = cache.getSnapshot(EDGE);
      assertThat(first).isNotNull();
      long startedAt = System.nanoTime();
      long deadline = startedAt + Duration.ofMillis(900).toNanos();
      int revision = 1;
      while (cache.getSnapshot(EDGE) == first && System.nanoTime() < deadline) {
        revision++;
        store.set(new RegistryState(revision, services("svc" + revision)));
        java.util.concurrent.locks.LockSupport.parkNanos(Duration.ofMillis(2).toNanos());
      }

      assertThat(cache.getSnapshot(EDGE))
          .as("published while changes were still arriving")
          .isNotSameAs(first);
      assertThat(Duration.ofNanos(System.nanoTime() - startedAt))
          .isLessThan(Duration.ofMillis(900));
    }

    private TreeMap<String, ServiceState> services(String... names) {
      TreeMap<String, ServiceState> services = new TreeMap<>();
      for (String name : names) {
        services.put(
            name,
            new ServiceState(
                name,
                List.of(RouteSpec.builder(PathMatch.prefix("/" + name)).build()),
                List.of(Instance.of(name + "-1", "10.0.0.1", 8080))));
      }
      return services;
    }
  }

  /**
   * Counts translations, so a test can tell that the pipeline ran without waiting for a fixed time.
   */
  private static final class CountingTranslator implements Translator {
    final AtomicInteger calls = new AtomicInteger();
    private final Translator delegate;

    CountingTranslator(Translator delegate) {
      this.delegate = delegate;
    }

    @Override
    public XdsResources translate(
        RegistryState state, GatewaySettings settings, PolicyHandover handover) {
      XdsResources resources = delegate.translate(state, settings, handover);
      calls.incrementAndGet();
      return resources;
    }
  }

  /** A store whose state a test sets directly, notifying listeners like a real store does. */
  /** A registry whose states the test sets one after another. */
  private static final class ScriptedStore implements RegistryView {
    private final List<Runnable> listeners = new CopyOnWriteArrayList<>();
    private volatile RegistryState state = RegistryState.EMPTY;

    void set(RegistryState newState) {
      state = newState;
      listeners.forEach(Runnable::run);
    }

    @Override
    public RegistryState state() {
      return state;
    }

    @Override
    public void addChangeListener(Runnable listener) {
      listeners.add(listener);
    }
  }
}
