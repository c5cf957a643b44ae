package io.signalbox.xds;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.controlplane.cache.Resources.ResourceType;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.signalbox.config.GatewaySettings;
import io.signalbox.model.MeshPolicy;
import io.signalbox.model.PathMatch;
import io.signalbox.model.Registration;
import io.signalbox.model.RegistryState;
import io.signalbox.model.RouteSpec;
import io.signalbox.store.InMemoryRegistryStore;
import io.signalbox.store.LeasePolicy;
import io.signalbox.testing.TestRegistrations;
import io.signalbox.translate.GatewayTranslator;
import io.signalbox.translate.PolicyHandover;
import io.signalbox.translate.XdsNames;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * A service's sidecars form the node group {@code sidecar/SERVICE} and are sent the fleet's
 * clusters and endpoints with listeners of their own: outbound to every service by name, inbound on
 * the ports of the service's instances that name an application port.
 */
class SidecarSnapshotsTest {

  private static Registration registration(String service, String id, int port, int appPort) {
    return new Registration(
        service,
        TestRegistrations.instance(id, "10.0.0.1", port, appPort),
        List.of(RouteSpec.builder(PathMatch.prefix("/" + service)).build()));
  }

  /** Sidecar snapshots with workload certificates from a CA made in memory. */
  private static SidecarSnapshots sidecarSnapshots() {
    return new SidecarSnapshots(
        MeshIdentities.ephemeral("signalbox.local", Duration.ofHours(1), Clock.systemUTC()));
  }

  /** A registry of users, behind a sidecar (application port 8080), and orders, without one. */
  private static InMemoryRegistryStore usersAndOrders() {
    InMemoryRegistryStore store = new InMemoryRegistryStore(LeasePolicy.DEFAULT, () -> 0L);
    store.register(registration("users", "u1", 15006, 8080), Optional.empty());
    store.register(registration("orders", "o1", 9000, 0), Optional.empty());
    return store;
  }

  private static RegistryState state() {
    return usersAndOrders().state();
  }

  private static Node sidecar(String service, String zone) {
    return Node.newBuilder()
        .setId(service + "-1")
        .setCluster("anything")
        .setMetadata(
            Struct.newBuilder()
                .putFields("signalbox.role", Value.newBuilder().setStringValue("sidecar").build())
                .putFields("signalbox.service", Value.newBuilder().setStringValue(service).build()))
        .setLocality(io.envoyproxy.envoy.config.core.v3.Locality.newBuilder().setZone(zone))
        .build();
  }

  /** What {@code group} is sent when the fleet is sent {@code fleet}, its zone's view taken. */
  private static ContentVersionedSnapshot forGroup(
      GroupSnapshots sidecars,
      String group,
      ContentVersionedSnapshot fleet,
      RegistryState state,
      GatewaySettings settings) {
    return sidecars.base(group, fleet, state, settings, PolicyHandover.NONE).forGroup(group);
  }

  @Test
  void aSidecarIsGroupedByItsService() {
    NodeGroups groups = new NodeGroups();

    assertThat(groups.hash(sidecar("users", ""))).isEqualTo("sidecar/users");
    assertThat(groups.hash(sidecar("users", "zone-a"))).isEqualTo("sidecar/users@zone-a");
    assertThat(NodeGroups.sidecarService("sidecar/users@zone-a")).contains("users");
    assertThat(NodeGroups.sidecarService("edge")).isEmpty();
  }

  @Test
  void sidecarsShareTheFleetsClustersAndEndpointsAndHaveListenersOfTheirOwn() {
    RegistryState state = state();
    ContentVersionedSnapshot fleet =
        ContentVersionedSnapshot.of(
            new GatewayTranslator().translate(state, GatewaySettings.DEFAULT));
    SidecarSnapshots sidecars = sidecarSnapshots();

    ContentVersionedSnapshot users =
        forGroup(sidecars, "sidecar/users", fleet, state, GatewaySettings.DEFAULT);
    ContentVersionedSnapshot orders =
        forGroup(sidecars, "sidecar/orders", fleet, state, GatewaySettings.DEFAULT);

    assertThat(users.resources(ResourceType.LISTENER).keySet())
        .containsExactlyInAnyOrder(
            XdsNames.SIDECAR_OUTBOUND_LISTENER, XdsNames.sidecarInboundListener(15006));
    Listener inbound =
        (Listener) users.resources(ResourceType.LISTENER).get("sidecar-inbound-15006");
    assertThat(inbound.getAddress().getSocketAddress().getPortValue()).isEqualTo(15006);
    assertThat(users.resources(ResourceType.CLUSTER))
        .containsKey(XdsNames.sidecarApplicationCluster(8080));
    assertThat(orders.resources(ResourceType.LISTENER).keySet())
        .as("orders names no application port: outbound only")
        .containsExactly(XdsNames.SIDECAR_OUTBOUND_LISTENER);
    RouteConfiguration outbound =
        (RouteConfiguration)
            orders.resources(ResourceType.ROUTE).get(XdsNames.SIDECAR_OUTBOUND_ROUTES);
    assertThat(outbound.getVirtualHostsList())
        .extracting(host -> List.copyOf(host.getDomainsList()))
        .containsExactly(List.of("orders", "orders:*"), List.of("users", "users:*"));
    assertThat(orders.version(ResourceType.ENDPOINT, List.of()))
        .as("the fleet's endpoints, versions and all")
        .isEqualTo(fleet.version(ResourceType.ENDPOINT, List.of()));
    assertThat(forGroup(sidecars, "sidecar/orders", fleet, state, GatewaySettings.DEFAULT))
        .as("made once per publication")
        .isSameAs(orders);
    assertThat(users.resources(ResourceType.SECRET).keySet())
        .as("its workload certificate and the mesh CA")
        .containsExactlyInAnyOrder(XdsNames.MESH_IDENTITY_SECRET, XdsNames.MESH_TRUST_SECRET);
    ContentVersionedSnapshot edge =
        forGroup(sidecars, "edge", fleet, state, GatewaySettings.DEFAULT);
    assertThat(edge.resources(ResourceType.SECRET).keySet())
        .as("the edge reaches users' sidecar over mutual TLS too")
        .containsExactlyInAnyOrder(XdsNames.MESH_IDENTITY_SECRET, XdsNames.MESH_TRUST_SECRET);
    assertThat(edge.version(ResourceType.CLUSTER, List.of()))
        .isEqualTo(fleet.version(ResourceType.CLUSTER, List.of()));
  }

  /**
   * Sidecars that name no callees all route to every service the same way: one route configuration
   * per registry state, shared by every such service's sidecars, in which a change to one service's
   * routes makes only that service's virtual host anew, and a change that moves no host (an
   * instance: hosts name none) keeps the configuration itself, so that its version is taken, not
   * digested again.
   */
  @Test
  void unscopedSidecarsShareOneOutboundRouteConfigurationThatChangesByDifference() {
    InMemoryRegistryStore store = usersAndOrders();
    store.register(registration("billing", "b1", 9001, 0), Optional.empty());
    SidecarSnapshots sidecars = sidecarSnapshots();
    GatewayTranslator translator = new GatewayTranslator();
    RegistryState before = store.state();
    ContentVersionedSnapshot fleet =
        ContentVersionedSnapshot.of(translator.translate(before, GatewaySettings.DEFAULT));

    RouteConfiguration ofUsers =
        outbound(forGroup(sidecars, "sidecar/users", fleet, before, GatewaySettings.DEFAULT));
    RouteConfiguration ofOrders =
        outbound(forGroup(sidecars, "sidecar/orders", fleet, before, GatewaySettings.DEFAULT));
    assertThat(ofOrders).isSameAs(ofUsers);

    store.register(registration("billing", "b2", 9002, 0), Optional.empty());
    RegistryState anotherInstance = store.state();
    ContentVersionedSnapshot withInstance =
        ContentVersionedSnapshot.of(
            translator.translate(anotherInstance, GatewaySettings.DEFAULT), fleet);
    assertThat(
            outbound(
                forGroup(
                    sidecars,
                    "sidecar/users",
                    withInstance,
                    anotherInstance,
                    GatewaySettings.DEFAULT)))
        .as("an instance moves no host")
        .isSameAs(ofUsers);

    store.register(
        new Registration(
            "billing",
            TestRegistrations.instance("b2", "10.0.0.1", 9002, 0),
            List.of(
                RouteSpec.builder(PathMatch.prefix("/billing"))
                    .timeout(Duration.ofSeconds(3))
                    .build())),
        Optional.empty());
    RegistryState after = store.state();
    ContentVersionedSnapshot next =
        ContentVersionedSnapshot.of(
            translator.translate(after, GatewaySettings.DEFAULT), withInstance);
    RouteConfiguration changed =
        outbound(forGroup(sidecars, "sidecar/users", next, after, GatewaySettings.DEFAULT));

    assertThat(host(changed, "users"))
        .as("users did not change: its virtual host is the same object")
        .isSameAs(host(ofUsers, "users"));
    assertThat(host(changed, "billing"))
        .as("a route with a timeout applies in the mesh")
        .isNotEqualTo(host(ofUsers, "billing"));
    assertThat(outbound(forGroup(sidecars, "sidecar/orders", next, after, GatewaySettings.DEFAULT)))
        .isSameAs(changed);
  }

  /**
   * Services whose applications listen on the same port and that name no callees send their
   * sidecars the same clusters: one list (the fleet's and the application cluster, in name order),
   * whose versions each service's snapshot takes instead of making its own; it is made again only
   * for another list of the fleet's clusters.
   */
  @Test
  void unscopedSidecarsOnTheSameApplicationPortShareTheirClusters() {
    InMemoryRegistryStore store = new InMemoryRegistryStore(LeasePolicy.DEFAULT, () -> 0L);
    store.register(registration("users", "u1", 15006, 8080), Optional.empty());
    store.register(registration("orders", "o1", 15007, 8080), Optional.empty());
    store.register(registration("billing", "b1", 15008, 9090), Optional.empty());
    store.register(registration("audit", "a1", 9001, 0), Optional.empty());
    SidecarSnapshots sidecars = sidecarSnapshots();
    GatewayTranslator translator = new GatewayTranslator();
    RegistryState state = store.state();
    ContentVersionedSnapshot fleet =
        ContentVersionedSnapshot.of(translator.translate(state, GatewaySettings.DEFAULT));

    ContentVersionedSnapshot users =
        forGroup(sidecars, "sidecar/users", fleet, state, GatewaySettings.DEFAULT);
    ContentVersionedSnapshot orders =
        forGroup(sidecars, "sidecar/orders", fleet, state, GatewaySettings.DEFAULT);
    ContentVersionedSnapshot billing =
        forGroup(sidecars, "sidecar/billing", fleet, state, GatewaySettings.DEFAULT);

    assertThat(orders.clusters()).isSameAs(users.clusters());
    assertThat(billing.clusters()).isNotSameAs(users.clusters());
    assertThat(users.clusters().resources().keySet())
        .containsExactly(
            XdsNames.sidecarApplicationCluster(8080),
            XdsNames.serviceCluster("audit"),
            XdsNames.serviceCluster("billing"),
            XdsNames.serviceCluster("orders"),
            XdsNames.serviceCluster("users"));
    assertThat(users.endpoints()).isSameAs(fleet.endpoints());

    store.register(registration("audit", "a2", 9002, 0), Optional.empty());
    RegistryState after = store.state();
    ContentVersionedSnapshot next =
        ContentVersionedSnapshot.of(translator.translate(after, GatewaySettings.DEFAULT), fleet);
    ContentVersionedSnapshot usersAfter =
        forGroup(sidecars, "sidecar/users", next, after, GatewaySettings.DEFAULT);

    assertThat(usersAfter.clusters())
        .as("the fleet's clusters are the same list: so are the sidecars'")
        .isSameAs(users.clusters());
    assertThat(usersAfter.endpoints()).isSameAs(next.endpoints());
  }

  private static io.envoyproxy.envoy.config.route.v3.VirtualHost host(
      RouteConfiguration routes, String name) {
    return routes.getVirtualHostsList().stream()
        .filter(host -> host.getName().equals(name))
        .findFirst()
        .orElseThrow();
  }

  private static RouteConfiguration outbound(ContentVersionedSnapshot sidecar) {
    return (RouteConfiguration)
        sidecar.resources(ResourceType.ROUTE).get(XdsNames.SIDECAR_OUTBOUND_ROUTES);
  }

  @Test
  void aFleetWithoutSidecarsIsSentAsItIs() {
    InMemoryRegistryStore store = new InMemoryRegistryStore(LeasePolicy.DEFAULT, () -> 0L);
    store.register(registration("orders", "o1", 9000, 0), Optional.empty());
    ContentVersionedSnapshot fleet =
        ContentVersionedSnapshot.of(
            new GatewayTranslator().translate(store.state(), GatewaySettings.DEFAULT));
    SidecarSnapshots sidecars = sidecarSnapshots();

    assertThat(forGroup(sidecars, "edge", fleet, store.state(), GatewaySettings.DEFAULT))
        .isSameAs(fleet);
  }

  /** The resources of {@code types} in the snapshot, serialized: what the Envoys hold. */
  private static long bytes(ContentVersionedSnapshot snapshot, List<ResourceType> types) {
    long total = 0;
    for (ResourceType type : types) {
      for (Object resource : snapshot.resources(type).values()) {
        total += ((com.google.protobuf.Message) resource).getSerializedSize();
      }
    }
    return total;
  }

  /**
   * The bytes of a sidecar of a service that calls two of 200 services, and of one that calls them
   * all, as a share; {@code applicationPort} 0 for callees without sidecars.
   */
  private static double allResourcesShareOfAScopedSidecar(int calleesApplicationPort) {
    InMemoryRegistryStore store = new InMemoryRegistryStore(LeasePolicy.DEFAULT, () -> 0L);
    for (int i = 0; i < 200; i++) {
      store.register(
          registration("svc-" + i, "i" + i, 9000, calleesApplicationPort), Optional.empty());
    }
    store.register(
        registration("caller", "c1", 15006, 8080)
            .withMesh(new MeshPolicy(List.of(), List.of("svc-1", "svc-2"))),
        Optional.empty());
    store.register(registration("everything", "e1", 15007, 8081), Optional.empty());
    SidecarSnapshots sidecars = sidecarSnapshots();
    ContentVersionedSnapshot fleet =
        ContentVersionedSnapshot.of(
            new GatewayTranslator().translate(store.state(), GatewaySettings.DEFAULT));
    List<ResourceType> all = List.of(ResourceType.values());
    return (double)
            bytes(
                forGroup(sidecars, "sidecar/caller", fleet, store.state(), GatewaySettings.DEFAULT),
                all)
        / bytes(
            forGroup(sidecars, "sidecar/everything", fleet, store.state(), GatewaySettings.DEFAULT),
            all);
  }

  @Test
  void inAMeshWhereEveryCalleeHasASidecarAScopedSidecarsWholeConfigurationIsUnder5Percent() {
    // Each callee's cluster then carries the mutual TLS its sidecars require; the scoped
    // sidecar's own listeners and certificates weigh the same either way.
    double meshed = allResourcesShareOfAScopedSidecar(8000);
    double plain = allResourcesShareOfAScopedSidecar(0);
    System.out.printf(
        "sidecar scoped to 2 of 202 services, all resources: %.1f %% with callees in the mesh,"
            + " %.1f %% with callees without sidecars%n",
        100 * meshed, 100 * plain);

    assertThat(meshed).isLessThanOrEqualTo(0.05);
    assertThat(plain)
        .as("callees without sidecars have smaller clusters, so the sidecar's own part weighs more")
        .isGreaterThan(meshed);
  }

  @Test
  void aSidecarScopedToTwoOf200ServicesHoldsUnder5PercentAndIsSentNothingWhenAnotherChanges() {
    InMemoryRegistryStore store = new InMemoryRegistryStore(LeasePolicy.DEFAULT, () -> 0L);
    for (int i = 0; i < 200; i++) {
      store.register(registration("svc-" + i, "i" + i, 9000, 0), Optional.empty());
    }
    store.register(
        registration("caller", "c1", 15006, 8080)
            .withMesh(new MeshPolicy(List.of(), List.of("svc-1", "svc-2"))),
        Optional.empty());
    store.register(registration("everything", "e1", 15007, 8081), Optional.empty());
    GatewayTranslator translator = new GatewayTranslator();
    SidecarSnapshots sidecars = sidecarSnapshots();
    RegistryState before = store.state();
    ContentVersionedSnapshot fleet =
        ContentVersionedSnapshot.of(translator.translate(before, GatewaySettings.DEFAULT));

    ContentVersionedSnapshot scoped =
        forGroup(sidecars, "sidecar/caller", fleet, before, GatewaySettings.DEFAULT);
    ContentVersionedSnapshot unscoped =
        forGroup(sidecars, "sidecar/everything", fleet, before, GatewaySettings.DEFAULT);

    assertThat(scoped.resources(ResourceType.CLUSTER).keySet())
        .containsExactlyInAnyOrder(
            XdsNames.serviceCluster("svc-1"),
            XdsNames.serviceCluster("svc-2"),
            XdsNames.sidecarApplicationCluster(8080));
    // What depends on the services: a sidecar of a service that calls two holds two services'
    // worth. Its own listeners and certificate (about 2.6 KB here) are the same either way.
    List<ResourceType> perService =
        List.of(ResourceType.CLUSTER, ResourceType.ENDPOINT, ResourceType.ROUTE);
    double share = (double) bytes(scoped, perService) / bytes(unscoped, perService);
    System.out.printf(
        "sidecar scoped to 2 of 202 services: clusters, endpoints and routes %d of %d bytes"
            + " (%.1f %%); all resources %d of %d bytes (%.1f %%)%n",
        bytes(scoped, perService),
        bytes(unscoped, perService),
        100 * share,
        bytes(scoped, List.of(ResourceType.values())),
        bytes(unscoped, List.of(ResourceType.values())),
        100.0
            * bytes(scoped, List.of(ResourceType.values()))
            / bytes(unscoped, List.of(ResourceType.values())));
    assertThat(share).isLessThanOrEqualTo(0.05);

    store.register(registration("svc-100", "i100b", 9001, 0), Optional.empty());
    RegistryState after = store.state();
    ContentVersionedSnapshot changedFleet =
        ContentVersionedSnapshot.of(translator.translate(after, GatewaySettings.DEFAULT), fleet);
    ContentVersionedSnapshot scopedAfter =
        forGroup(sidecars, "sidecar/caller", changedFleet, after, GatewaySettings.DEFAULT);

    for (ResourceType type : ResourceType.values()) {
      assertThat(scopedAfter.version(type, List.of()))
          .as("%s: an unrelated service changed, nothing to send", type)
          .isEqualTo(scoped.version(type, List.of()));
    }
    assertThat(
            forGroup(sidecars, "sidecar/everything", changedFleet, after, GatewaySettings.DEFAULT)
                .version(ResourceType.ENDPOINT, List.of()))
        .as("an unscoped sidecar is sent the change")
        .isNotEqualTo(unscoped.version(ResourceType.ENDPOINT, List.of()));
  }

  @Test
  void aChangeToAnotherServiceMakesNothingOfASidecarsOwnAgainThoughItIsSentTheChange() {
    InMemoryRegistryStore store = usersAndOrders();
    GatewayTranslator translator = new GatewayTranslator();
    SidecarSnapshots sidecars = sidecarSnapshots();
    ContentVersionedSnapshot fleet =
        ContentVersionedSnapshot.of(translator.translate(store.state(), GatewaySettings.DEFAULT));
    ContentVersionedSnapshot before =
        forGroup(sidecars, "sidecar/users", fleet, store.state(), GatewaySettings.DEFAULT);

    store.register(registration("orders", "o2", 9001, 0), Optional.empty());
    ContentVersionedSnapshot ordersChanged =
        ContentVersionedSnapshot.of(
            translator.translate(store.state(), GatewaySettings.DEFAULT), fleet);
    ContentVersionedSnapshot after =
        forGroup(sidecars, "sidecar/users", ordersChanged, store.state(), GatewaySettings.DEFAULT);

    assertThat(after.version(ResourceType.ENDPOINT, List.of()))
        .as("an unscoped sidecar is sent the new instance of orders")
        .isNotEqualTo(before.version(ResourceType.ENDPOINT, List.of()));
    // Its listeners, inbound routes and certificate are the very objects of its snapshot before
    // (nothing serialized and hashed again per sidecar group), and so is its list of clusters
    // (nothing walked): a change to one service costs each other service's sidecars next to
    // nothing.
    for (ResourceType type :
        List.of(ResourceType.LISTENER, ResourceType.ROUTE, ResourceType.SECRET)) {
      assertThat(after.resources(type).keySet()).isEqualTo(before.resources(type).keySet());
      before
          .resources(type)
          .forEach(
              (name, resource) ->
                  assertThat(after.resources(type).get(name))
                      .as("%s %s", type, name)
                      .isSameAs(resource));
    }
    assertThat(after.resources().clusters()).isSameAs(before.resources().clusters());

    // Other settings make them again: the outbound listener on another port.
    GatewaySettings otherPort =
        GatewaySettings.DEFAULT.toBuilder()
            .sidecars(new io.signalbox.config.SidecarSettings("127.0.0.1", 15101))
            .build();
    ContentVersionedSnapshot withOtherPort =
        forGroup(
            sidecars,
            "sidecar/users",
            ContentVersionedSnapshot.of(translator.translate(store.state(), otherPort)),
            store.state(),
            otherPort);
    assertThat(
            ((Listener)
                    withOtherPort
                        .resources(ResourceType.LISTENER)
                        .get(XdsNames.SIDECAR_OUTBOUND_LISTENER))
                .getAddress()
                .getSocketAddress()
                .getPortValue())
        .isEqualTo(15101);
  }

  /**
   * While an Envoy's rejection is on record, each publication's verdict asks for what its group was
   * sent of the last configuration the fleet accepted, next to what it was just sent; neither is
   * translated again for it.
   */
  @Test
  void theLastGoodConfigurationAndTheOneJustSentAreAskedForInTurnWithoutMakingEitherAgain() {
    InMemoryRegistryStore store = usersAndOrders();
    GatewayTranslator translator = new GatewayTranslator();
    SidecarSnapshots sidecars = sidecarSnapshots();
    RegistryState goodState = store.state();
    ContentVersionedSnapshot good =
        ContentVersionedSnapshot.of(translator.translate(goodState, GatewaySettings.DEFAULT));
    ContentVersionedSnapshot usersOfGood =
        sidecars.base("sidecar/users", good, goodState, GatewaySettings.DEFAULT, NONE);
    ContentVersionedSnapshot edgeOfGood =
        sidecars.base("edge", good, goodState, GatewaySettings.DEFAULT, NONE);

    store.register(registration("orders", "o2", 9001, 0), Optional.empty());
    RegistryState sentState = store.state();
    ContentVersionedSnapshot sent =
        ContentVersionedSnapshot.of(translator.translate(sentState, GatewaySettings.DEFAULT), good);
    ContentVersionedSnapshot usersOfSent =
        sidecars.base("sidecar/users", sent, sentState, GatewaySettings.DEFAULT, NONE);
    ContentVersionedSnapshot edgeOfSent =
        sidecars.base("edge", sent, sentState, GatewaySettings.DEFAULT, NONE);
    assertThat(usersOfSent).isNotSameAs(usersOfGood);
    assertThat(edgeOfSent)
        .as("the edge holds the fleet's workload certificate: its own snapshot")
        .isNotSameAs(sent)
        .isNotSameAs(edgeOfGood);

    for (int publication = 0; publication < 3; publication++) {
      assertThat(sidecars.base("sidecar/users", good, goodState, GatewaySettings.DEFAULT, NONE))
          .as("the sidecars' view of the last good configuration, publication %d", publication)
          .isSameAs(usersOfGood);
      assertThat(sidecars.base("edge", good, goodState, GatewaySettings.DEFAULT, NONE))
          .isSameAs(edgeOfGood);
      assertThat(sidecars.base("sidecar/users", sent, sentState, GatewaySettings.DEFAULT, NONE))
          .as("the sidecars' view of what was sent, publication %d", publication)
          .isSameAs(usersOfSent);
      assertThat(sidecars.base("edge", sent, sentState, GatewaySettings.DEFAULT, NONE))
          .isSameAs(edgeOfSent);
    }

    store.register(registration("orders", "o3", 9002, 0), Optional.empty());
    RegistryState nextState = store.state();
    ContentVersionedSnapshot next =
        ContentVersionedSnapshot.of(translator.translate(nextState, GatewaySettings.DEFAULT), sent);
    sidecars.base("sidecar/users", next, nextState, GatewaySettings.DEFAULT, NONE);
    assertThat(sidecars.base("sidecar/users", sent, sentState, GatewaySettings.DEFAULT, NONE))
        .as("the one asked for before the next is kept with it")
        .isSameAs(usersOfSent);
    assertThat(sidecars.base("sidecar/users", good, goodState, GatewaySettings.DEFAULT, NONE))
        .as("two are kept, not three: the oldest is made again, equal")
        .isNotSameAs(usersOfGood)
        .satisfies(again -> assertThat(again.version()).isEqualTo(usersOfGood.version()));
  }

  @Test
  void whatAServiceSidecarsWereMadeIsLetGoOnlyOnceNoGroupOfItsSidecarsRemains() {
    RegistryState state = state();
    ContentVersionedSnapshot fleet =
        ContentVersionedSnapshot.of(
            new GatewayTranslator().translate(state, GatewaySettings.DEFAULT));
    MeshIdentities mesh =
        MeshIdentities.ephemeral("signalbox.local", Duration.ofHours(1), Clock.systemUTC());
    SidecarSnapshots sidecars = new SidecarSnapshots(mesh);
    String usersIdentity = "spiffe://signalbox.local/service/users";
    ContentVersionedSnapshot made =
        sidecars.base("sidecar/users@a", fleet, state, GatewaySettings.DEFAULT, NONE);

    sidecars.forget("sidecar/users@a", List.of("sidecar/users@b", "edge"));
    assertThat(mesh.expiry(usersIdentity)).isPresent();
    assertThat(sidecars.base("sidecar/users@b", fleet, state, GatewaySettings.DEFAULT, NONE))
        .as("the group of another zone still has it")
        .isSameAs(made);

    sidecars.forget("sidecar/users@b", List.of("edge", "sidecar/orders"));
    assertThat(mesh.expiry(usersIdentity))
        .as("the workload certificate of users' sidecars was let go too")
        .isEmpty();
    assertThat(sidecars.base("sidecar/users@b", fleet, state, GatewaySettings.DEFAULT, NONE))
        .as("made again once every group of users' sidecars was forgotten")
        .isNotSameAs(made)
        .satisfies(again -> assertThat(again.version()).isEqualTo(made.version()))
        .satisfies(
            again ->
                assertThat(again.resources().listeners())
                    .as("its own listeners were let go with it: made again, equal")
                    .zipSatisfy(
                        made.resources().listeners(),
                        (remade, before) ->
                            assertThat(remade).isEqualTo(before).isNotSameAs(before)));
  }

  private static final io.signalbox.translate.PolicyHandover NONE =
      io.signalbox.translate.PolicyHandover.NONE;

  @Test
  void aScopedSidecarIsKeptWhenAServiceItDoesNotCallChangesAndMadeAgainWhenOneItCallsDoes() {
    InMemoryRegistryStore store = new InMemoryRegistryStore(LeasePolicy.DEFAULT, () -> 0L);
    store.register(registration("users", "u1", 9000, 0), Optional.empty());
    store.register(registration("billing", "b1", 9001, 0), Optional.empty());
    store.register(
        registration("orders", "o1", 15006, 8080)
            .withMesh(new MeshPolicy(List.of(), List.of("users"))),
        Optional.empty());
    GatewayTranslator translator = new GatewayTranslator();
    SidecarSnapshots sidecars = sidecarSnapshots();
    ContentVersionedSnapshot fleet =
        ContentVersionedSnapshot.of(translator.translate(store.state(), GatewaySettings.DEFAULT));
    ContentVersionedSnapshot before =
        forGroup(sidecars, "sidecar/orders", fleet, store.state(), GatewaySettings.DEFAULT);

    store.register(registration("billing", "b2", 9002, 0), Optional.empty());
    ContentVersionedSnapshot billingChanged =
        ContentVersionedSnapshot.of(
            translator.translate(store.state(), GatewaySettings.DEFAULT), fleet);
    assertThat(
            forGroup(
                sidecars, "sidecar/orders", billingChanged, store.state(), GatewaySettings.DEFAULT))
        .as("billing is not called: the sidecars' snapshot is kept, not made again")
        .isSameAs(before);

    store.register(registration("users", "u2", 9003, 0), Optional.empty());
    ContentVersionedSnapshot usersChanged =
        ContentVersionedSnapshot.of(
            translator.translate(store.state(), GatewaySettings.DEFAULT), billingChanged);
    ContentVersionedSnapshot after =
        forGroup(sidecars, "sidecar/orders", usersChanged, store.state(), GatewaySettings.DEFAULT);
    assertThat(after).isNotSameAs(before);
    assertThat(after.resources(ResourceType.ENDPOINT).get(XdsNames.serviceCluster("users")))
        .isSameAs(
            usersChanged.resources(ResourceType.ENDPOINT).get(XdsNames.serviceCluster("users")));
  }

  @Test
  void aScopedSidecarWhoseInputsAllStayIsMadeAgainWithItsRenewedCertificateAtHalfItsLife() {
    InMemoryRegistryStore store = new InMemoryRegistryStore(LeasePolicy.DEFAULT, () -> 0L);
    store.register(registration("users", "u1", 9000, 0), Optional.empty());
    store.register(
        registration("orders", "o1", 15006, 8080)
            .withMesh(new MeshPolicy(List.of(), List.of("users"))),
        Optional.empty());
    io.signalbox.testing.TestClock clock =
        new io.signalbox.testing.TestClock(Duration.ofDays(20_000));
    SidecarSnapshots sidecars =
        new SidecarSnapshots(
            MeshIdentities.ephemeral("signalbox.local", Duration.ofHours(1), clock));
    ContentVersionedSnapshot fleet =
        ContentVersionedSnapshot.of(
            new GatewayTranslator().translate(store.state(), GatewaySettings.DEFAULT));
    ContentVersionedSnapshot before =
        forGroup(sidecars, "sidecar/orders", fleet, store.state(), GatewaySettings.DEFAULT);
    assertThat(forGroup(sidecars, "sidecar/orders", fleet, store.state(), GatewaySettings.DEFAULT))
        .as("nothing changed")
        .isSameAs(before);

    clock.advance(Duration.ofMinutes(31));
    ContentVersionedSnapshot renewed =
        forGroup(sidecars, "sidecar/orders", fleet, store.state(), GatewaySettings.DEFAULT);

    assertThat(renewed.resources(ResourceType.SECRET).get(XdsNames.MESH_IDENTITY_SECRET))
        .isNotEqualTo(before.resources(ResourceType.SECRET).get(XdsNames.MESH_IDENTITY_SECRET));
    assertThat(renewed.resources(ResourceType.CLUSTER))
        .isEqualTo(before.resources(ResourceType.CLUSTER));
  }

  /**
   * Sidecar snapshots kept across publications are what a fresh {@link SidecarSnapshots} makes of
   * the same state, over random changes to the services a scoped sidecar calls, to others, and to
   * its own registration (calls, policies that make its sidecars take the gateway's clusters).
   */
  @org.junit.jupiter.params.ParameterizedTest(name = "states with their change log: {0}")
  @org.junit.jupiter.params.provider.ValueSource(booleans = {true, false})
  void keptSidecarSnapshotsEqualFreshOnesOverRandomChanges(boolean withChangeLog) {
    java.util.Random random = new java.util.Random(20261205);
    // A JWT provider: its JWKS cluster is one the sidecars take once they may enforce policies.
    GatewaySettings withJwt =
        GatewaySettings.DEFAULT.toBuilder()
            .jwtProvider(io.signalbox.config.TestJwtProviders.corp())
            .build();
    GatewaySettings settings = withJwt;
    InMemoryRegistryStore store = new InMemoryRegistryStore(LeasePolicy.DEFAULT, () -> 0L);
    MeshIdentities mesh =
        MeshIdentities.ephemeral("signalbox.local", Duration.ofHours(1), Clock.systemUTC());
    GatewayTranslator translator = new GatewayTranslator();
    SidecarSnapshots kept = new SidecarSnapshots(mesh);
    List<String> leases = new java.util.ArrayList<>();
    List<Integer> instances = new java.util.ArrayList<>();
    ContentVersionedSnapshot fleet = null;
    for (int step = 0; step < 300; step++) {
      if (step % 25 == 24) {
        // A reload: the same settings as another object, or others (the JWT provider goes or
        // comes back).
        settings =
            random.nextBoolean()
                ? settings.toBuilder().build()
                : settings.jwtProviders().isEmpty()
                    ? withJwt.toBuilder().build()
                    : GatewaySettings.DEFAULT.toBuilder().build();
      }
      int choice = random.nextInt(10);
      if (choice < 6 || leases.isEmpty()) {
        // A new instance, or (one time in three) one registered before again with other routes:
        // its service's routes change while its endpoints stay.
        int instance =
            choice < 2 && !instances.isEmpty()
                ? instances.get(random.nextInt(instances.size()))
                : step;
        if (instance == step) {
          instances.add(step);
        }
        String service = "svc-" + instance % 8;
        String address = "10.1." + instance / 200 + "." + instance % 200;
        RouteSpec.Builder route =
            RouteSpec.builder(PathMatch.prefix("/" + service + "/" + random.nextInt(4)));
        if (random.nextInt(3) == 0) {
          route.auth(io.signalbox.model.AuthRequirement.of("corp"));
        }
        if (random.nextBoolean()) {
          // A timeout applies in the mesh: the callers' sidecars route with it.
          route.timeout(Duration.ofSeconds(1 + random.nextInt(3)));
        }
        leases.add(
            store
                .register(
                    new Registration(
                        service,
                        TestRegistrations.instance("i" + instance, address, 9000 + instance % 3, 0),
                        List.of(route.build())),
                    Optional.empty())
                .id());
      } else if (choice < 8) {
        store.deregister(leases.remove(random.nextInt(leases.size())));
      } else {
        List<String> calls =
            List.of("svc-" + random.nextInt(8), "svc-" + random.nextInt(8)).stream()
                .distinct()
                .toList();
        RouteSpec.Builder route = RouteSpec.builder(PathMatch.prefix("/caller"));
        if (random.nextInt(4) == 0) {
          route.auth(io.signalbox.model.AuthRequirement.of("corp"));
        }
        if (random.nextInt(4) == 0) {
          route.rateLimit(
              io.signalbox.model.RateLimit.local(10, io.signalbox.model.RateLimit.Unit.SECOND));
        }
        store.register(
            new Registration(
                    "caller",
                    TestRegistrations.instance("c1", "10.2.0.1", 15006, 8080),
                    List.of(route.build()))
                .withMesh(new MeshPolicy(List.of(), random.nextInt(5) == 0 ? List.of() : calls)),
            Optional.empty());
      }
      // Without the log, a kept snapshot is judged on the slow path, its inputs compared.
      RegistryState state =
          withChangeLog
              ? store.state()
              : new RegistryState(store.state().revision(), store.state().services());
      fleet =
          fleet == null
              ? ContentVersionedSnapshot.of(translator.translate(state, settings))
              : ContentVersionedSnapshot.of(translator.translate(state, settings), fleet);
      ContentVersionedSnapshot fromKept = forGroup(kept, "sidecar/caller", fleet, state, settings);
      ContentVersionedSnapshot fromFresh =
          forGroup(new SidecarSnapshots(mesh), "sidecar/caller", fleet, state, settings);
      for (ResourceType type : ResourceType.values()) {
        assertThat(fromKept.resources(type))
            .as("step %d, %s", step, type)
            .isEqualTo(fromFresh.resources(type));
        assertThat(fromKept.version(type, List.of()))
            .as("step %d, %s version", step, type)
            .isEqualTo(fromFresh.version(type, List.of()));
      }
    }
  }

  @Test
  void aChangeOnlyTheSidecarsSeeReachesThem() {
    InMemoryRegistryStore store = new InMemoryRegistryStore(LeasePolicy.DEFAULT, () -> 0L);
    store.register(registration("users", "u1", 15006, 8080), Optional.empty());
    GatewayTranslator translator = new GatewayTranslator();
    SidecarSnapshots sidecars = sidecarSnapshots();
    RegistryState open = store.state();
    ContentVersionedSnapshot fleet =
        ContentVersionedSnapshot.of(translator.translate(open, GatewaySettings.DEFAULT));
    ContentVersionedSnapshot before =
        forGroup(sidecars, "sidecar/users", fleet, open, GatewaySettings.DEFAULT);

    store.register(
        registration("users", "u1", 15006, 8080)
            .withMesh(new MeshPolicy(List.of("orders"), List.of())),
        Optional.empty());
    RegistryState restricted = store.state();
    ContentVersionedSnapshot sameFleet =
        ContentVersionedSnapshot.of(translator.translate(restricted, GatewaySettings.DEFAULT));

    assertThat(sameFleet.version())
        .as("allowed callers change nothing the edge is sent")
        .isEqualTo(fleet.version());
    ContentVersionedSnapshot after =
        forGroup(sidecars, "sidecar/users", fleet, restricted, GatewaySettings.DEFAULT);
    assertThat(after.version(ResourceType.ROUTE, List.of()))
        .as("but the sidecar's inbound routes get its RBAC policy")
        .isNotEqualTo(before.version(ResourceType.ROUTE, List.of()));
    assertThat(after.version(ResourceType.LISTENER, List.of()))
        .as("and its listeners stay, so connections open already are held to the new policy")
        .isEqualTo(before.version(ResourceType.LISTENER, List.of()));
  }
}
