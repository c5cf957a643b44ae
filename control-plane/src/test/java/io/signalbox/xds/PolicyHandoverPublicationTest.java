package io.signalbox.xds;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.InvalidProtocolBufferException;
import io.envoyproxy.controlplane.cache.v3.Snapshot;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.signalbox.config.GatewaySettings;
import io.signalbox.config.TestJwtProviders;
import io.signalbox.model.AuthRequirement;
import io.signalbox.model.PathMatch;
import io.signalbox.model.Registration;
import io.signalbox.model.RouteSpec;
import io.signalbox.store.InMemoryRegistryStore;
import io.signalbox.store.Lease;
import io.signalbox.store.LeasePolicy;
import io.signalbox.testing.TestRegistrations;
import io.signalbox.translate.GatewayTranslator;
import io.signalbox.translate.XdsNames;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Policies that move between the edge and a service's sidecars are never enforced by neither. The
 * edge and the sidecars apply what they are sent each at its own time; a group holds, at any
 * moment, any snapshot it was sent since the last one it is known to have applied (the pipeline
 * asked, and the answer was yes). Over every such combination of what the edge and {@code users}'
 * sidecars may hold, a request to {@code /users} meets its JWT requirement at one of them, and one
 * that the edge may send to an instance without a sidecar meets it at the edge.
 */
class PolicyHandoverPublicationTest {

  private static final String EDGE = "edge";
  private static final String SIDECARS = "sidecar/users";
  private static final GatewaySettings SETTINGS =
      GatewaySettings.plaintext("0.0.0.0", 10000).toBuilder()
          .jwtProvider(TestJwtProviders.corp())
          .build();

  /** What the pipeline did, in order: a snapshot sent to a group, or a group known to hold one. */
  private record Event(String group, ContentVersionedSnapshot snapshot, boolean applied) {}

  private final List<Event> events = new ArrayList<>();

  /** Node groups whose snapshot cannot be made from now on (as when a certificate cannot be). */
  private final UnmakeableGroupSnapshots groupSnapshots =
      new UnmakeableGroupSnapshots(
          new SidecarSnapshots(
              MeshIdentities.ephemeral("signalbox.local", Duration.ofHours(1), Clock.systemUTC())));

  private final Set<String> unmakeable = groupSnapshots.unmakeable;

  private final InMemoryRegistryStore store =
      new InMemoryRegistryStore(LeasePolicy.DEFAULT, () -> 0L);
  private SnapshotPublisher publisher;

  @BeforeEach
  void usersHasAnInstanceBehindASidecar() {
    store.register(users("users-1", "10.0.2.1", 15006, 8080), Optional.empty());
  }

  @AfterEach
  void stop() {
    if (publisher != null) {
      publisher.close();
    }
  }

  @Test
  void policiesMovingToTheSidecarsAreEnforcedThroughoutWhenTheLastInstanceOutsideTheMeshLeaves() {
    Lease outside = store.register(users("users-2", "10.0.2.2", 8080, 0), Optional.empty());
    startPublishing();
    assertThat(edgeEnforces(held(EDGE))).as("before: the edge enforces").isTrue();
    assertThat(sidecarsEnforce(held(SIDECARS))).as("before: the sidecars do not").isFalse();

    store.deregister(outside.id());
    awaitPublished();

    assertThat(edgeEnforces(held(EDGE))).as("after: the edge only forwards").isFalse();
    assertThat(sidecarsEnforce(held(SIDECARS))).as("after: the sidecars enforce").isTrue();
    assertNeverUnenforced();
  }

  @Test
  void aHandoverToTheSidecarsWaitsWithTheEdgeEnforcingUntilTheirSnapshotCanBeMade() {
    Lease outside = store.register(users("users-2", "10.0.2.2", 8080, 0), Optional.empty());
    startPublishing();
    ContentVersionedSnapshot sidecarsHeld = held(SIDECARS);
    unmakeable.add(SIDECARS);
    int eventsBefore = eventCount();

    store.deregister(outside.id());
    // The change stays pending (the handover stopped); wait until the pipeline sends nothing more.
    java.util.concurrent.atomic.AtomicInteger lastSeen =
        new java.util.concurrent.atomic.AtomicInteger();
    await()
        .atMost(Duration.ofSeconds(10))
        .pollInterval(Duration.ofMillis(300))
        .until(
            () -> {
              int events = eventCount();
              return events > eventsBefore && events == lastSeen.getAndSet(events);
            });

    assertThat(held(SIDECARS)).as("left on what it holds").isSameAs(sidecarsHeld);
    assertThat(sidecarsEnforce(sidecarsHeld)).isFalse();
    assertThat(edgeEnforces(held(EDGE))).as("so the edge has not let go").isTrue();
    assertNeverUnenforced();
    assertThat(publisher.handoverHeld()).as("publishing is held, and says so").isTrue();

    // Once the sidecars can be made again, the next try completes the handover.
    unmakeable.remove(SIDECARS);
    publisher.requestPublish();
    awaitPublished();

    assertThat(sidecarsEnforce(held(SIDECARS))).as("after: the sidecars enforce").isTrue();
    assertThat(edgeEnforces(held(EDGE))).as("after: the edge only forwards").isFalse();
    assertNeverUnenforced();
    assertThat(publisher.handoverHeld()).isFalse();
  }

  @Test
  void aHandoverCompletesThoughAnotherServicesSidecarsCannotBeMade() {
    Lease outside = store.register(users("users-2", "10.0.2.2", 8080, 0), Optional.empty());
    store.register(
        new Registration(
            "orders",
            TestRegistrations.instance("orders-1", "10.0.1.1", 15006, 8080),
            List.of(RouteSpec.builder(PathMatch.prefix("/orders")).build()),
            ""),
        Optional.empty());
    startPublishing();
    publisher.groupSeen("sidecar/orders");
    unmakeable.add("sidecar/orders");

    store.deregister(outside.id());
    awaitPublished();

    assertThat(edgeEnforces(held(EDGE))).as("after: the edge only forwards").isFalse();
    assertThat(sidecarsEnforce(held(SIDECARS))).as("after: the sidecars enforce").isTrue();
    assertNeverUnenforced();
    assertThat(publisher.handoverHeld()).as("another service's group holds nothing up").isFalse();
  }

  @Test
  void policiesMovingToTheEdgeAreEnforcedThroughoutWhenAnInstanceOutsideTheMeshComes() {
    startPublishing();
    assertThat(edgeEnforces(held(EDGE))).as("before: the edge only forwards").isFalse();

    store.register(users("users-2", "10.0.2.2", 8080, 0), Optional.empty());
    awaitPublished();

    assertThat(edgeEnforces(held(EDGE))).as("after: the edge enforces").isTrue();
    assertThat(sidecarsEnforce(held(SIDECARS))).as("after: the sidecars do not").isFalse();
    assertNeverUnenforced();
  }

  @Test
  void aRouteAddedToAServiceWhoseSidecarsEnforceIsGuardedByThemBeforeTheEdgeRoutesIt() {
    startPublishing();

    store.register(
        users("users-1", "10.0.2.1", 15006, 8080, "/users", "/accounts"), Optional.empty());
    awaitPublished();

    assertThat(edgeRoutes(held(EDGE), "/accounts")).isNotEmpty();
    assertNeverUnenforced("/accounts");
  }

  private static Registration users(String id, String address, int port, int applicationPort) {
    return users(id, address, port, applicationPort, "/users");
  }

  private static Registration users(
      String id, String address, int port, int applicationPort, String... prefixes) {
    List<RouteSpec> routes = new ArrayList<>();
    for (String prefix : prefixes) {
      routes.add(
          RouteSpec.builder(PathMatch.prefix(prefix)).auth(AuthRequirement.of("corp")).build());
    }
    return new Registration(
        "users", TestRegistrations.instance(id, address, port, applicationPort), routes, "");
  }

  private void startPublishing() {
    XdsSnapshotCache cache = new XdsSnapshotCache(new NodeGroups());
    GroupSnapshotCache recording =
        new GroupSnapshotCache() {
          @Override
          public void setSnapshot(String group, Snapshot snapshot) {
            synchronized (events) {
              events.add(new Event(group, (ContentVersionedSnapshot) snapshot, false));
            }
            cache.setSnapshot(group, snapshot);
          }

          @Override
          public Snapshot getSnapshot(String group) {
            return cache.getSnapshot(group);
          }

          @Override
          public boolean clearSnapshot(String group) {
            return cache.clearSnapshot(group);
          }

          @Override
          public void setLastGood(java.util.function.Function<String, Snapshot> views) {
            cache.setLastGood(views);
          }
        };
    publisher =
        SnapshotPublisher.builder(store, SETTINGS, new GatewayTranslator(), recording)
            .coalescing(Duration.ZERO, Duration.ZERO)
            .sidecars(groupSnapshots)
            // Every Envoy applies what it is sent at once, but only what the pipeline asks about
            // is known to be applied.
            .stageChanges(
                (group, type, required, snapshot) -> {
                  synchronized (events) {
                    events.add(new Event(group, snapshot, true));
                  }
                  return true;
                },
                Duration.ofSeconds(5))
            .build();
    publisher.start();
    publisher.groupSeen(EDGE);
    publisher.groupSeen(SIDECARS);
  }

  private void awaitPublished() {
    await().atMost(Duration.ofSeconds(10)).until(() -> !publisher.changesPending());
  }

  private int eventCount() {
    synchronized (events) {
      return events.size();
    }
  }

  /** The snapshot {@code group} was sent last. */
  private ContentVersionedSnapshot held(String group) {
    synchronized (events) {
      for (int i = events.size() - 1; i >= 0; i--) {
        if (events.get(i).group().equals(group) && !events.get(i).applied()) {
          return events.get(i).snapshot();
        }
      }
    }
    throw new AssertionError(group + " was sent nothing");
  }

  private void assertNeverUnenforced() {
    assertNeverUnenforced("/users");
  }

  /**
   * Replays the events: after each, every snapshot the edge may hold is checked against every one
   * the sidecars may hold.
   */
  private void assertNeverUnenforced(String prefix) {
    Map<String, List<ContentVersionedSnapshot>> mayHold = new LinkedHashMap<>();
    List<Event> replay;
    synchronized (events) {
      replay = List.copyOf(events);
    }
    int step = 0;
    for (Event event : replay) {
      step++;
      List<ContentVersionedSnapshot> held =
          mayHold.computeIfAbsent(event.group(), g -> new ArrayList<>());
      if (event.applied()) {
        held.clear();
      }
      held.add(event.snapshot());
      for (ContentVersionedSnapshot edge : mayHold.getOrDefault(EDGE, List.of())) {
        if (edgeRoutes(edge, prefix).isEmpty()) {
          continue;
        }
        if (hasEndpointOutsideTheMesh(edge)) {
          assertThat(edgeEnforces(edge, prefix))
              .as("step %d: the edge may send %s to an instance without a sidecar", step, prefix)
              .isTrue();
        }
        for (ContentVersionedSnapshot sidecars : mayHold.getOrDefault(SIDECARS, List.of())) {
          assertThat(edgeEnforces(edge, prefix) || sidecarsEnforce(sidecars, prefix))
              .as("step %d: %s is enforced at the edge or at the sidecars", step, prefix)
              .isTrue();
        }
      }
    }
    assertThat(step).as("the pipeline asked what was applied").isGreaterThan(2);
  }

  private static boolean edgeEnforces(ContentVersionedSnapshot edge) {
    return edgeEnforces(edge, "/users");
  }

  private static boolean edgeEnforces(ContentVersionedSnapshot edge, String prefix) {
    return edgeRoutes(edge, prefix).stream().allMatch(PolicyHandoverPublicationTest::requiresJwt);
  }

  private static boolean sidecarsEnforce(ContentVersionedSnapshot sidecars) {
    return sidecarsEnforce(sidecars, "/users");
  }

  private static boolean sidecarsEnforce(ContentVersionedSnapshot sidecars, String prefix) {
    List<Route> inbound = new ArrayList<>();
    for (RouteConfiguration config : sidecars.resources().routes()) {
      if (config.getName().equals(XdsNames.sidecarInboundListener(15006))) {
        inbound.addAll(routes(config, prefix));
      }
    }
    return !inbound.isEmpty()
        && inbound.stream().allMatch(PolicyHandoverPublicationTest::requiresJwt);
  }

  private static List<Route> edgeRoutes(ContentVersionedSnapshot edge, String prefix) {
    List<Route> routes = new ArrayList<>();
    edge.resources().routes().forEach(config -> routes.addAll(routes(config, prefix)));
    return routes;
  }

  private static List<Route> routes(RouteConfiguration config, String prefix) {
    return config.getVirtualHostsList().stream()
        .flatMap(host -> host.getRoutesList().stream())
        .filter(route -> route.getMatch().getPathSeparatedPrefix().equals(prefix))
        .toList();
  }

  private static boolean requiresJwt(Route route) {
    return route.containsTypedPerFilterConfig(XdsNames.JWT_AUTHN_FILTER);
  }

  private static boolean hasEndpointOutsideTheMesh(ContentVersionedSnapshot edge) {
    for (ClusterLoadAssignment assignment : edge.resources().endpoints()) {
      if (assignment.getClusterName().equals(XdsNames.serviceCluster("users"))) {
        for (var locality : assignment.getEndpointsList()) {
          for (LbEndpoint endpoint : locality.getLbEndpointsList()) {
            if (endpoint.getEndpoint().getAddress().getSocketAddress().getPortValue() == 8080) {
              return true;
            }
          }
        }
      }
    }
    return false;
  }

  private static HttpConnectionManager connectionManager(Filter filter) {
    try {
      return filter.getTypedConfig().unpack(HttpConnectionManager.class);
    } catch (InvalidProtocolBufferException e) {
      throw new AssertionError(e);
    }
  }
}
