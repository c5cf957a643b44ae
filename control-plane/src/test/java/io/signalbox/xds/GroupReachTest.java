package io.signalbox.xds;

import static org.assertj.core.api.Assertions.assertThat;

import io.envoyproxy.controlplane.cache.Resources.ResourceType;
import io.signalbox.config.GatewaySettings;
import io.signalbox.config.TestJwtProviders;
import io.signalbox.metrics.SignalboxMetrics;
import io.signalbox.model.AuthRequirement;
import io.signalbox.model.MeshPolicy;
import io.signalbox.model.PathMatch;
import io.signalbox.model.Registration;
import io.signalbox.model.RegistryState;
import io.signalbox.model.RouteSpec;
import io.signalbox.store.InMemoryRegistryStore;
import io.signalbox.store.LeasePolicy;
import io.signalbox.testing.TestClock;
import io.signalbox.testing.TestRegistrations;
import io.signalbox.translate.GatewayTranslator;
import io.signalbox.translate.PolicyHandover;
import io.signalbox.translate.XdsNames;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A publication asks only the node groups it may send something new ({@link GroupReach}): every
 * group made of the whole fleet, and the scoped sidecar groups that take a changed service; and
 * every group still holds what a walk over all of them would send it.
 */
class GroupReachTest {

  private static final GatewaySettings WITH_JWT =
      GatewaySettings.DEFAULT.toBuilder().jwtProvider(TestJwtProviders.corp()).build();

  private final TestClock clock = new TestClock(Duration.ofDays(20_000));
  private final MeshIdentities mesh =
      MeshIdentities.ephemeral("signalbox.local", Duration.ofHours(1), clock);
  private final XdsSnapshotCache cache = new XdsSnapshotCache(new NodeGroups());
  private final Set<String> connected = ConcurrentHashMap.newKeySet();
  private final UnmakeableGroupSnapshots sidecars =
      new UnmakeableGroupSnapshots(new SidecarSnapshots(mesh));
  private final KeptGroups kept =
      new KeptGroups(cache, sidecars, connected::contains, SignalboxMetrics.noop());
  private final InMemoryRegistryStore store =
      new InMemoryRegistryStore(LeasePolicy.DEFAULT, () -> 0L);
  private final GatewayTranslator translator = new GatewayTranslator();

  private GatewaySettings settings = WITH_JWT;
  private ContentVersionedSnapshot fleet;
  private RegistryState state;

  /** 10.0.117.1 for u1. */
  private static String address(String id) {
    return "10.0." + (int) id.charAt(0) + "." + id.substring(1);
  }

  private static Registration instance(String service, String id, int appPort, List<String> calls) {
    return new Registration(
            service,
            TestRegistrations.instance(id, address(id), 15006, appPort),
            List.of(RouteSpec.builder(PathMatch.prefix("/" + service)).build()))
        .withMesh(new MeshPolicy(List.of(), calls));
  }

  /**
   * users and payments without sidecars; orders behind sidecars that call users, billing behind
   * sidecars that call payments, audit behind sidecars that name no callees (so take every
   * service); an edge fleet.
   */
  @BeforeEach
  void aMeshOfScopedAndUnscopedSidecars() {
    store.register(instance("users", "u1", 0, List.of()), Optional.empty());
    store.register(instance("payments", "p1", 0, List.of()), Optional.empty());
    store.register(instance("orders", "o1", 8080, List.of("users")), Optional.empty());
    store.register(instance("billing", "b1", 8080, List.of("payments")), Optional.empty());
    store.register(instance("audit", "a1", 8080, List.of()), Optional.empty());
    publish();
    for (String group : List.of("edge", "sidecar/orders", "sidecar/billing", "sidecar/audit")) {
      connect(group);
    }
    publish();
  }

  /** As the publisher does on an Envoy's first request ({@link SnapshotPublisher#groupSeen}). */
  private void connect(String group) {
    connected.add(group);
    if (kept.keep(group) && fleet != null) {
      ContentVersionedSnapshot base =
          kept.madeFor(group, new FleetPublication(fleet, state, settings, PolicyHandover.NONE));
      if (base != null) {
        kept.send(group, base);
      }
    }
  }

  private void leave(String group) {
    connected.remove(group);
    kept.left(group);
  }

  /** Translates the store's state and sends it to every group kept; returns the groups asked. */
  private Set<String> publish() {
    return publish(store.state());
  }

  private Set<String> publish(RegistryState next) {
    state = next;
    fleet =
        fleet == null
            ? ContentVersionedSnapshot.of(translator.translate(state, settings))
            : ContentVersionedSnapshot.of(translator.translate(state, settings), fleet);
    sidecars.asked.clear();
    kept.sendEach(fleet, state, settings);
    return new TreeSet<>(sidecars.asked);
  }

  /** What {@code group}'s Envoys find in the cache; null when nothing. */
  private ContentVersionedSnapshot held(String group) {
    return (ContentVersionedSnapshot) cache.getSnapshot(group);
  }

  private static String identitySecret(ContentVersionedSnapshot snapshot) {
    return String.valueOf(
        snapshot.resources(ResourceType.SECRET).get(XdsNames.MESH_IDENTITY_SECRET));
  }

  @Test
  void aChangeToAServiceAsksTheScopedGroupsThatTakeItAndTheGroupsMadeOfTheWholeFleet() {
    ContentVersionedSnapshot billing = held("sidecar/billing");
    ContentVersionedSnapshot orders = held("sidecar/orders");

    store.register(instance("users", "u2", 0, List.of()), Optional.empty());

    assertThat(publish()).containsExactly("edge", "sidecar/audit", "sidecar/orders");
    assertThat(held("sidecar/billing")).isSameAs(billing);
    assertThat(held("sidecar/orders").resources(ResourceType.ENDPOINT))
        .as("orders' sidecars get users' new endpoint")
        .isNotEqualTo(orders.resources(ResourceType.ENDPOINT));
  }

  @Test
  void aChangeToAScopedServiceItselfReachesItsOwnGroup() {
    store.register(instance("billing", "b2", 8080, List.of("payments")), Optional.empty());

    assertThat(publish()).containsExactly("edge", "sidecar/audit", "sidecar/billing");
  }

  @Test
  void aScopedServiceThatCallsAnotherServiceFromNowOnIsReachedByThatServicesChanges() {
    store.register(instance("billing", "b1", 8080, List.of("payments", "users")), Optional.empty());
    publish();

    store.register(instance("users", "u2", 0, List.of()), Optional.empty());

    assertThat(publish()).contains("sidecar/orders", "sidecar/billing");
  }

  @Test
  void aPublicationOfTheSameStateAsksOnlyTheGroupsMadeOfTheWholeFleet() {
    assertThat(publish()).containsExactly("edge", "sidecar/audit");
  }

  @Test
  void whenTheCertificateWindowMovesEveryGroupIsAskedAndGetsItsRenewedCertificate() {
    String billing = identitySecret(held("sidecar/billing"));

    clock.advance(Duration.ofMinutes(31));

    assertThat(publish())
        .containsExactly("edge", "sidecar/audit", "sidecar/billing", "sidecar/orders");
    assertThat(identitySecret(held("sidecar/billing"))).isNotEqualTo(billing);
  }

  @Test
  void otherSettingsReachEveryGroup() {
    settings = GatewaySettings.DEFAULT;

    assertThat(publish())
        .containsExactly("edge", "sidecar/audit", "sidecar/billing", "sidecar/orders");
  }

  @Test
  void aStateWhoseChangesCannotBeNamedReachesEveryGroup() {
    RegistryState withoutLog = new RegistryState(state.revision() + 1, state.services());

    assertThat(publish(withoutLog))
        .containsExactly("edge", "sidecar/audit", "sidecar/billing", "sidecar/orders");
  }

  @Test
  void aGroupWhoseLastEnvoyLeftIsForgottenByTheNextPublicationThoughNoChangeReachesIt() {
    leave("sidecar/billing");

    publish();

    assertThat(kept.names()).doesNotContain("sidecar/billing");
    assertThat(held("sidecar/billing")).isNull();
  }

  @Test
  void aGroupThatCouldNotBeSentWhenItWasKeptIsReachedByTheNextPublication() {
    kept.keep("sidecar/newcomer");
    connected.add("sidecar/newcomer");

    assertThat(publish()).contains("sidecar/newcomer");
    assertThat(held("sidecar/newcomer")).isNotNull();
  }

  @Test
  void aGroupNotReachedIsJudgedByWhatItWasSentWithoutBeingAskedAgain() {
    store.register(instance("users", "u2", 0, List.of()), Optional.empty());
    publish();
    sidecars.asked.clear();

    ContentVersionedSnapshot judged =
        kept.judgedBy(new NackQuarantine.Publication(fleet, state, settings), "sidecar/billing");

    assertThat(judged).isSameAs(held("sidecar/billing"));
    assertThat(sidecars.asked).isEmpty();
  }

  @Test
  void aGroupSentAStageOfAStagedChangeIsReachedByTheNextPublicationThoughTheChangeWasUndone() {
    ContentVersionedSnapshot billing = held("sidecar/billing");
    kept.sendStage("sidecar/billing", fleet);

    assertThat(publish()).contains("sidecar/billing");
    assertThat(held("sidecar/billing")).isSameAs(billing);
  }

  @Test
  void aGroupThatCouldNotBeMadeIsReachedByEveryPublicationUntilItCanBe() {
    ContentVersionedSnapshot billing = held("sidecar/billing");
    sidecars.unmakeable.add("sidecar/billing");
    store.register(instance("payments", "p2", 0, List.of()), Optional.empty());
    assertThat(publish()).contains("sidecar/billing");
    assertThat(held("sidecar/billing")).as("it keeps what it holds").isSameAs(billing);

    sidecars.unmakeable.clear();

    assertThat(publish()).as("the same state again").contains("sidecar/billing");
    assertThat(held("sidecar/billing").resources(ResourceType.ENDPOINT))
        .as("payments' new endpoint")
        .isNotEqualTo(billing.resources(ResourceType.ENDPOINT));
  }

  @Test
  void aGroupThatCouldNotBeMadeIsJudgedByWhatItHoldsUntilItIsSentAnother() {
    ContentVersionedSnapshot billing = held("sidecar/billing");
    sidecars.unmakeable.add("sidecar/billing");
    store.register(instance("payments", "p2", 0, List.of()), Optional.empty());
    publish();

    sidecars.unmakeable.clear();

    assertThat(
            kept.judgedBy(
                new NackQuarantine.Publication(fleet, state, settings), "sidecar/billing"))
        .as("not a snapshot of the publication it could now be made, but was never sent")
        .isSameAs(billing);
  }

  @Test
  void aGroupSentAStepOfAHandoverIsReachedByTheNextPublicationAndNotJudgedByTheStep() {
    ContentVersionedSnapshot billing = held("sidecar/billing");
    kept.sendStep("sidecar/billing", fleet);

    assertThat(
            kept.judgedBy(
                new NackQuarantine.Publication(fleet, state, settings), "sidecar/billing"))
        .isSameAs(billing);
    assertThat(publish()).contains("sidecar/billing");
    assertThat(held("sidecar/billing")).isSameAs(billing);
  }

  /**
   * Over random changes (instances, the services scoped sidecars call, settings reloaded, time
   * passing, groups coming and going, trial states without a change log), every kept group holds
   * what a fresh {@link SidecarSnapshots} makes it of the publication, and is judged by it.
   */
  @Test
  void everyGroupHoldsWhatAWalkOverAllOfThemWouldSendItOverRandomChanges() {
    Random random = new Random(20261208);
    List<String> groups =
        List.of(
            "edge",
            "edge@zone-b",
            "sidecar/caller-0",
            "sidecar/caller-1",
            "sidecar/caller-1@zone-b",
            "sidecar/caller-2",
            "sidecar/svc-3");
    List<String> leases = new ArrayList<>();
    for (int step = 0; step < 400; step++) {
      int choice = random.nextInt(20);
      if (choice < 8 || leases.isEmpty()) {
        String service = "svc-" + random.nextInt(6);
        RouteSpec.Builder route =
            RouteSpec.builder(PathMatch.prefix("/" + service + "/" + random.nextInt(3)));
        if (random.nextInt(3) == 0) {
          route.auth(AuthRequirement.of("corp"));
        }
        leases.add(
            store
                .register(
                    new Registration(
                        service,
                        TestRegistrations.instance(
                            "i" + step,
                            "10.1." + step / 200 + "." + step % 200,
                            9000,
                            service.equals("svc-3") ? 8080 : 0),
                        List.of(route.build())),
                    Optional.empty())
                .id());
      } else if (choice < 11) {
        store.deregister(leases.remove(random.nextInt(leases.size())));
      } else if (choice < 14) {
        int callerNumber = random.nextInt(3);
        String caller = "caller-" + callerNumber;
        String id = "c" + (callerNumber + 1);
        List<String> calls =
            random.nextInt(5) == 0
                ? List.of()
                : List.of("svc-" + random.nextInt(6), "svc-" + random.nextInt(6)).stream()
                    .distinct()
                    .toList();
        RouteSpec.Builder route = RouteSpec.builder(PathMatch.prefix("/" + caller));
        if (random.nextInt(3) == 0) {
          route.auth(AuthRequirement.of("corp"));
        }
        store.register(
            new Registration(
                    caller,
                    TestRegistrations.instance(id, address(id), 15006, 8080),
                    List.of(route.build()))
                .withMesh(new MeshPolicy(List.of(), calls)),
            Optional.empty());
      } else if (choice < 15) {
        settings =
            random.nextBoolean()
                ? settings.toBuilder().build()
                : settings.jwtProviders().isEmpty()
                    ? WITH_JWT.toBuilder().build()
                    : GatewaySettings.DEFAULT.toBuilder().build();
      } else if (choice < 16) {
        clock.advance(Duration.ofMinutes(random.nextBoolean() ? 10 : 31));
      } else {
        String group = groups.get(random.nextInt(groups.size()));
        if (connected.contains(group)) {
          leave(group);
        } else {
          connect(group);
        }
      }
      RegistryState next = store.state();
      publish(random.nextInt(10) == 0 ? new RegistryState(next.revision(), next.services()) : next);

      assertThat(kept.names()).as("step %d: the groups kept", step).isEqualTo(connected);
      SidecarSnapshots fresh = new SidecarSnapshots(mesh);
      for (String group : kept.names()) {
        ContentVersionedSnapshot made =
            fresh.base(group, fleet, state, settings, PolicyHandover.NONE).forGroup(group);
        ContentVersionedSnapshot judged =
            kept.judgedBy(new NackQuarantine.Publication(fleet, state, settings), group);
        for (ResourceType type : ResourceType.values()) {
          assertThat(held(group).resources(type))
              .as("step %d, %s, %s held", step, group, type)
              .isEqualTo(made.resources(type));
          assertThat(judged.resources(type))
              .as("step %d, %s, %s judged by", step, group, type)
              .isEqualTo(made.resources(type));
        }
      }
    }
  }
}
