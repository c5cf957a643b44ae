package io.signalbox.xds;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.controlplane.cache.Resources.ResourceType;
import io.envoyproxy.controlplane.cache.v3.SimpleCache;
import io.envoyproxy.controlplane.cache.v3.Snapshot;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.signalbox.config.GatewaySettings;
import io.signalbox.envoy.XdsTypes;
import io.signalbox.model.Instance;
import io.signalbox.model.PathMatch;
import io.signalbox.model.Registration;
import io.signalbox.model.RouteSpec;
import io.signalbox.store.InMemoryRegistryStore;
import io.signalbox.store.Lease;
import io.signalbox.store.LeasePolicy;
import io.signalbox.store.Quarantine;
import io.signalbox.translate.GatewayTranslator;
import io.signalbox.translate.XdsNames;
import io.signalbox.xds.ProxyStatusTracker.Mode;
import io.signalbox.xds.ProxyStatusTracker.Nack;
import io.signalbox.xds.ProxyStatusTracker.ProxyStatus;
import io.signalbox.xds.ProxyStatusTracker.SyncStatus;
import io.signalbox.xds.ProxyStatusTracker.TypeStatus;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.regex.Matcher;
import java.util.stream.Collectors;
import org.awaitility.core.ConditionFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The quarantine in the pipeline, against a fake Envoy that answers every snapshot the way Envoy
 * 1.40 does: it rejects a route configuration holding a regex whose RE2 program is too large, and,
 * when told to, a listener on a port it cannot bind. A rejected registration must be quarantined
 * with Envoy's error, everything else published.
 */
class NackQuarantineTest {

  private static final Duration PATIENCE = Duration.ofSeconds(10);

  /**
   * How long a trial waits for the fleet's verdict. Long, so that a busy machine never runs a trial
   * past it (the answers come within milliseconds); short only where the timeout is what is tested.
   */
  private static final Duration VERDICT_TIMEOUT = PATIENCE;

  private static final Duration SHORT_VERDICT_TIMEOUT = Duration.ofMillis(700);
  private static final String GROUP = "edge";
  private static final String TOO_LARGE = "/(ab|cd|ef|gh){30}";

  private final InMemoryRegistryStore store = new InMemoryRegistryStore(LeasePolicy.DEFAULT);
  private final FakeFleet fleet = new FakeFleet();
  private SnapshotPublisher publisher;

  private void start(GatewaySettings settings) {
    start(settings, VERDICT_TIMEOUT);
  }

  private void start(GatewaySettings settings, Duration verdictTimeout) {
    publisher =
        SnapshotPublisher.builder(store, settings, new GatewayTranslator(), fleet)
            .coalescing(Duration.ofMillis(1), Duration.ofMillis(100))
            .quarantine(store, fleet::proxies, verdictTimeout)
            .build();
    fleet.publisher = publisher;
    publisher.start();
    publisher.groupSeen(GROUP);
    eventually().until(() -> fleet.getSnapshot(GROUP) != null);
  }

  private void start() {
    start(GatewaySettings.DEFAULT);
  }

  @AfterEach
  void stop() {
    if (publisher != null) {
      publisher.close();
    }
    fleet.answers.shutdownNow();
  }

  private static ConditionFactory eventually() {
    return await().atMost(PATIENCE).pollInterval(Duration.ofMillis(5));
  }

  private Lease register(String service, PathMatch path) {
    return store.register(
        new Registration(
            service,
            Instance.of(service + "-1", "10.0.0.1", 8080),
            List.of(RouteSpec.builder(path).build())),
        Optional.empty());
  }

  private Lease registerGood(String service) {
    return register(service, PathMatch.prefix("/" + service));
  }

  private Lease registerBad(String service) {
    return register(service, PathMatch.regex("/" + service + TOO_LARGE));
  }

  /** The services whose routes Envoy runs: those of the route configuration it accepted last. */
  private Set<String> servedByEnvoy() {
    return fleet.acceptedRoutes.stream()
        .map(name -> name.substring(0, name.indexOf(':')))
        .collect(Collectors.toCollection(java.util.TreeSet::new));
  }

  private long trials() {
    return publisher.quarantineTrials();
  }

  private Set<String> inPublishedSnapshot() {
    return publisher.current().resources(ResourceType.CLUSTER).keySet().stream()
        .map(name -> name.substring("svc-".length()))
        .collect(Collectors.toCollection(java.util.TreeSet::new));
  }

  @Test
  void aRegistrationEnvoyRejectsIsQuarantinedWithEnvoysErrorAndLaterOnesKeepFlowing() {
    start();
    registerGood("orders");
    registerGood("users");
    eventually().until(() -> servedByEnvoy().equals(Set.of("orders", "users")));

    registerBad("search");

    eventually().until(() -> store.quarantined().containsKey("search"));
    Quarantine quarantine = store.quarantined().get("search");
    assertThat(quarantine.reason())
        .isEqualTo(
            "edge-1 (group edge) rejected routes: regex '/search"
                + TOO_LARGE
                + "' RE2 program size of 305 > max program size of 100 set for the error level threshold. Increase "
                + "configured max program size if necessary.");
    assertThat(quarantine.rejected().routes())
        .singleElement()
        .satisfies(
            route ->
                assertThat(route.match().path()).isEqualTo(PathMatch.regex("/search" + TOO_LARGE)));
    assertThat(store.state().services()).as("the registry keeps it").containsKey("search");

    registerGood("billing");
    eventually().until(() -> servedByEnvoy().equals(Set.of("billing", "orders", "users")));
    assertThat(inPublishedSnapshot()).containsExactly("billing", "orders", "users");
    assertThat(trials()).as("one changed service: convicted without a trial").isZero();
  }

  @Test
  void bisectsABurstOfChangesAndQuarantinesExactlyTheRejectedOnes() {
    start();
    registerGood("orders");
    eventually().until(() -> servedByEnvoy().equals(Set.of("orders")));

    publisher.pause();
    registerBad("alpha");
    registerGood("bravo");
    registerBad("charlie");
    registerGood("delta");
    registerGood("echo");
    registerGood("foxtrot");
    publisher.resume();

    eventually().until(() -> store.quarantined().keySet().equals(Set.of("alpha", "charlie")));
    eventually()
        .until(() -> servedByEnvoy().equals(Set.of("bravo", "delta", "echo", "foxtrot", "orders")));
    assertThat(store.quarantined().get("charlie").reason())
        .contains("regex '/charlie" + TOO_LARGE + "'");
    assertThat(store.quarantined().get("alpha").reason())
        .contains("regex '/alpha" + TOO_LARGE + "'");
    assertThat(trials()).isBetween(2L, 2L * 2 * 3);
    assertThat(publisher.history().latest(100))
        .as("trials are published, so they are in the history")
        .hasSizeGreaterThan((int) trials());
  }

  @Test
  void registrationsDuringASearchAreLeftOutOfTheTrialsAndPublishedWithTheOutcome() {
    start();
    fleet.answerDelay = Duration.ofMillis(150);
    publisher.pause();
    registerBad("alpha");
    registerGood("bravo");
    registerGood("charlie");
    registerGood("delta");
    publisher.resume();
    eventually().until(() -> trials() >= 1);

    registerGood("late");

    eventually().until(() -> servedByEnvoy().equals(Set.of("bravo", "charlie", "delta", "late")));
    assertThat(store.quarantined()).containsOnlyKeys("alpha");
    List<Set<String>> sent = fleet.clustersSent();
    int firstWithLate =
        sent.indexOf(sent.stream().filter(s -> s.contains("late")).findFirst().orElseThrow());
    assertThat(sent.subList(firstWithLate, sent.size()))
        .as("after the search")
        .noneMatch(s -> s.contains("alpha"));
  }

  @Test
  void aRejectionNoRegistrationCausedQuarantinesNobody() {
    // The listener port is taken on the Envoy host: every snapshot's listener is rejected, whatever
    // is registered.
    fleet.unbindablePort = 10000;
    start();
    registerGood("orders");
    registerGood("users");

    eventually().until(() -> servedByEnvoy().equals(Set.of("orders", "users")));
    assertThat(store.quarantined()).isEmpty();
    assertThat(trials()).isZero();
    assertThat(fleet.rejectedTypes()).containsExactly(Resources.V3.LISTENER_TYPE_URL);
  }

  @Test
  void
      newSettingsEnvoyRejectsAreBlamedOnTheSettingsAndARegistrationInTheSameSnapshotStillOnItself() {
    start();
    registerGood("orders");
    eventually().until(() -> servedByEnvoy().equals(Set.of("orders")));

    fleet.unbindablePort = 10443;
    publisher.pause();
    publisher.updateSettings(GatewaySettings.plaintext("0.0.0.0", 10443));
    registerGood("bravo");
    registerBad("charlie");
    publisher.resume();

    eventually().until(() -> store.quarantined().keySet().equals(Set.of("charlie")));
    eventually().until(() -> servedByEnvoy().equals(Set.of("bravo", "orders")));
    assertThat(fleet.rejectedTypes()).contains(Resources.V3.LISTENER_TYPE_URL);
  }

  @Test
  void anEnvoyThatGivesNoVerdictLeavesEveryoneUnquarantinedAndIsNotTriedAgainAndAgain() {
    start(GatewaySettings.DEFAULT, SHORT_VERDICT_TIMEOUT);
    registerGood("orders");
    eventually().until(() -> servedByEnvoy().equals(Set.of("orders")));

    publisher.pause();
    registerBad("alpha");
    registerGood("bravo");
    fleet.silentAfterNextAnswer = true;
    publisher.resume();

    eventually().until(() -> trials() >= 1);
    // The search gives up after the verdict timeout; nothing may follow it for several timeouts
    // more.
    await()
        .during(SHORT_VERDICT_TIMEOUT.multipliedBy(3))
        .atMost(PATIENCE)
        .until(() -> store.quarantined().isEmpty() && trials() == 1);
    assertThat(inPublishedSnapshot())
        .as("the pipeline went on")
        .containsExactly("alpha", "bravo", "orders");
  }

  @Test
  void aQuarantinedServiceComesBackWhenItRegistersDifferentRoutes() {
    start();
    registerBad("search");
    eventually().until(() -> store.quarantined().containsKey("search"));

    registerBad("search");
    publisher.requestPublish();
    assertThat(store.quarantined()).as("the same registration again").containsKey("search");

    registerGood("search");
    eventually().until(() -> servedByEnvoy().equals(Set.of("search")));
    assertThat(store.quarantined()).isEmpty();
  }

  @Test
  void aReleasedServiceIsTriedAgainAndQuarantinedAgainIfEnvoyStillRejectsIt() {
    start();
    registerGood("orders");
    registerBad("search");
    eventually().until(() -> store.quarantined().containsKey("search"));
    Instant first = store.quarantined().get("search").since();
    int rejectionsBefore = fleet.rejections;

    assertThat(store.releaseQuarantine("search")).isPresent();

    eventually()
        .until(
            () -> fleet.rejections > rejectionsBefore && store.quarantined().containsKey("search"));
    assertThat(store.quarantined().get("search").since()).isAfterOrEqualTo(first);
    eventually().until(() -> servedByEnvoy().equals(Set.of("orders")));
  }

  /**
   * A sidecar rejects what only it was sent (here the inbound listener on its instance's port,
   * which its host cannot bind): its group is judged by its own snapshot, so the registration that
   * caused it is found and quarantined with the sidecar's error, and nothing else.
   */
  @Test
  void aSidecarsRejectionQuarantinesTheRegistrationThatCausedIt() {
    start();
    publisher.groupSeen("sidecar/users");
    eventually().until(() -> fleet.getSnapshot("sidecar/users") != null);
    registerGood("orders");
    eventually().until(() -> servedByEnvoy().equals(Set.of("orders")));
    fleet.unbindablePort = 15099;

    store.register(
        new Registration(
            "users",
            new Instance("users-1", "10.0.0.2", "10.0.0.2", 15099, "", 1, Map.of(), 8080),
            List.of(RouteSpec.builder(PathMatch.prefix("/users")).build())),
        Optional.empty());

    eventually().until(() -> store.quarantined().containsKey("users"));
    assertThat(store.quarantined().get("users").reason())
        .contains("(group sidecar/users) rejected listeners")
        .contains("cannot bind '0.0.0.0:15099'");
    assertThat(store.quarantined()).doesNotContainKey("orders");
  }

  /**
   * One Envoy per group behind the cache ("edge", and any other the test adds). Every snapshot set
   * is answered on another thread, as by a gRPC stream: each type whose version changed is accepted
   * or rejected, and the pipeline is told.
   */
  private static final class FakeFleet extends SimpleCache<String> implements GroupSnapshotCache {
    final ExecutorService answers = Executors.newSingleThreadExecutor();
    final List<ContentVersionedSnapshot> received = new CopyOnWriteArrayList<>();
    volatile SnapshotPublisher publisher;
    volatile int unbindablePort;
    volatile Duration answerDelay = Duration.ZERO;
    volatile boolean silentAfterNextAnswer;
    volatile boolean silent;
    volatile int rejections;
    volatile List<String> acceptedRoutes = List.of();

    /** Each group's one Envoy: its types' status. */
    private final Map<String, Map<String, TypeStatus>> groups = new TreeMap<>();

    FakeFleet() {
      super(new NodeGroups());
    }

    /** Nothing to judge by: the fake Envoys are sent whole snapshots, never a resource again. */
    @Override
    public void setLastGood(java.util.function.Function<String, Snapshot> views) {}

    @Override
    public synchronized void setSnapshot(String group, Snapshot snapshot) {
      super.setSnapshot(group, snapshot);
      ContentVersionedSnapshot sent = (ContentVersionedSnapshot) snapshot;
      if (group.equals(GROUP)) {
        received.add(sent);
      }
      answers.execute(() -> answer(group, sent));
    }

    List<Set<String>> clustersSent() {
      return received.stream()
          .map(
              s ->
                  s.resources(ResourceType.CLUSTER).keySet().stream()
                      .map(n -> n.substring("svc-".length()))
                      .collect(Collectors.toSet()))
          .toList();
    }

    synchronized Set<String> rejectedTypes() {
      return groups.getOrDefault(GROUP, Map.of()).values().stream()
          .filter(t -> t.status() == SyncStatus.NACKED)
          .map(TypeStatus::typeUrl)
          .collect(Collectors.toSet());
    }

    synchronized List<ProxyStatus> proxies() {
      List<ProxyStatus> proxies = new java.util.ArrayList<>();
      groups.forEach(
          (group, types) ->
              proxies.add(
                  new ProxyStatus(
                      proxies.size() + 1,
                      Node.newBuilder().setId(group + "-1").setCluster(group).build(),
                      group,
                      Mode.SOTW,
                      Instant.EPOCH,
                      SyncStatus.SYNCED,
                      Map.copyOf(types),
                      Optional.empty())));
      return proxies;
    }

    private void answer(String group, ContentVersionedSnapshot snapshot) {
      if (!answerDelay.isZero()) {
        try {
          Thread.sleep(answerDelay.toMillis());
        } catch (InterruptedException e) {
          return;
        }
      }
      boolean nack = false;
      synchronized (this) {
        if (silent) {
          return;
        }
        Map<String, TypeStatus> types = groups.computeIfAbsent(group, g -> new TreeMap<>());
        for (ResourceType type : XdsTypes.ALL) {
          String url = XdsTypes.typeUrl(type);
          String version = snapshot.version(type);
          TypeStatus before = types.get(url);
          if (before != null && version.equals(before.versionSent())) {
            continue; // unchanged (or rejected before): not sent again
          }
          Optional<String> error = rejection(snapshot, type);
          Instant now = Instant.now();
          String acked = before == null ? "" : before.versionAcked();
          if (error.isPresent()) {
            nack = true;
            rejections++;
            types.put(
                url,
                new TypeStatus(
                    url,
                    SyncStatus.NACKED,
                    version,
                    Optional.of(now),
                    acked,
                    before == null ? Optional.empty() : before.ackedAt(),
                    Optional.of(new Nack(version, error.get(), now)),
                    List.of()));
          } else {
            types.put(
                url,
                new TypeStatus(
                    url,
                    SyncStatus.SYNCED,
                    version,
                    Optional.of(now),
                    version,
                    Optional.of(now),
                    before == null ? Optional.empty() : before.lastNack(),
                    List.of()));
            if (type == ResourceType.ROUTE && group.equals(GROUP)) {
              acceptedRoutes = routeNames(snapshot);
            }
          }
        }
        if (silentAfterNextAnswer && nack) {
          silent = true;
        }
      }
      publisher.xdsAnswered(nack);
    }

    private Optional<String> rejection(ContentVersionedSnapshot snapshot, ResourceType type) {
      if (type == ResourceType.LISTENER && unbindablePort != 0) {
        for (Object resource : snapshot.resources(type).values()) {
          Listener listener = (Listener) resource;
          if (listener.getAddress().getSocketAddress().getPortValue() == unbindablePort) {
            return Optional.of(
                "cannot bind '0.0.0.0:" + unbindablePort + "': Address already in use");
          }
        }
      }
      if (type == ResourceType.ROUTE) {
        for (Object resource : snapshot.resources(type).values()) {
          for (VirtualHost host : ((RouteConfiguration) resource).getVirtualHostsList()) {
            for (Route route : host.getRoutesList()) {
              String regex = route.getMatch().getSafeRegex().getRegex();
              Matcher repeat = java.util.regex.Pattern.compile("\\{(\\d+)}").matcher(regex);
              if (repeat.find() && Integer.parseInt(repeat.group(1)) >= 20) {
                return Optional.of(
                    "regex '"
                        + regex
                        + "' RE2 program size of 305 > max program size of 100 set "
                        + "for the error level threshold. Increase configured max program size if necessary.");
              }
            }
          }
        }
      }
      return Optional.empty();
    }

    private static List<String> routeNames(ContentVersionedSnapshot snapshot) {
      RouteConfiguration routes =
          (RouteConfiguration) snapshot.resources(ResourceType.ROUTE).get(XdsNames.GATEWAY_ROUTES);
      return routes.getVirtualHostsList().stream()
          .flatMap(h -> h.getRoutesList().stream())
          .map(Route::getName)
          .distinct()
          .toList();
    }
  }
}
