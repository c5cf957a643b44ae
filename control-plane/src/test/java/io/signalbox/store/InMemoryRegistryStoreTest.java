package io.signalbox.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.signalbox.model.Instance;
import io.signalbox.model.PathMatch;
import io.signalbox.model.Registration;
import io.signalbox.model.RegistryState;
import io.signalbox.model.RouteSpec;
import io.signalbox.model.ServiceState;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The registry store: leases on a fake clock, route ownership between services, and change
 * notification.
 */
class InMemoryRegistryStoreTest {

  private static final Duration DEFAULT_TTL = LeasePolicy.DEFAULT.defaultTtl();

  /** Nanoseconds; starts far from zero so that nothing depends on the clock's origin. */
  private final AtomicLong now = new AtomicLong(1_000_000_000_000L);

  private final InMemoryRegistryStore store =
      new InMemoryRegistryStore(LeasePolicy.DEFAULT, now::get);
  private final AtomicInteger changes = new AtomicInteger();

  {
    store.addChangeListener(changes::incrementAndGet);
  }

  private void advance(Duration duration) {
    now.addAndGet(duration.toNanos());
  }

  private static Registration registration(String service, String instanceId, RouteSpec... routes) {
    return new Registration(service, Instance.of(instanceId, "10.0.0.1", 8080), List.of(routes));
  }

  private static RouteSpec prefix(String prefix) {
    return RouteSpec.builder(PathMatch.prefix(prefix)).build();
  }

  private static RouteSpec prefixOnHost(String prefix, String host) {
    return RouteSpec.builder(PathMatch.prefix(prefix)).host(host).build();
  }

  private Lease register(Registration registration) {
    return store.register(registration, Optional.empty());
  }

  private ServiceState service(String name) {
    return store.state().services().get(name);
  }

  private List<String> instanceIds(String service) {
    return service(service).instances().stream().map(Instance::id).toList();
  }

  @Nested
  class Leases {

    @Test
    void registeringGrantsALeaseWithTheDefaultTtl() {
      Lease lease = register(registration("orders", "o1"));

      assertThat(lease.id()).startsWith("lease-");
      assertThat(lease.ttl()).isEqualTo(DEFAULT_TTL);
      assertThat(instanceIds("orders")).containsExactly("o1");
    }

    @Test
    void everyInstanceGetsItsOwnLease() {
      assertThat(register(registration("orders", "o1")).id())
          .isNotEqualTo(register(registration("orders", "o2")).id())
          .isNotEqualTo(register(registration("billing", "o1")).id());
    }

    @ParameterizedTest(name = "requested {0} s is granted {1} s")
    @CsvSource({"0.5, 1", "1, 1", "30, 30", "300, 300", "3600, 300"})
    void grantsTheRequestedTtlClampedToThePolicy(double requestedSeconds, long grantedSeconds) {
      Lease lease =
          store.register(
              registration("orders", "o1"),
              Optional.of(Duration.ofMillis((long) (requestedSeconds * 1000))));

      assertThat(lease.ttl()).isEqualTo(Duration.ofSeconds(grantedSeconds));
    }

    @Test
    void reRegisteringTheSameInstanceKeepsItsLeaseId() {
      Lease first = register(registration("orders", "o1", prefix("/orders")));

      Lease second = register(registration("orders", "o1", prefix("/orders/v2")));

      assertThat(second.id()).isEqualTo(first.id());
      assertThat(service("orders").routes()).containsExactly(prefix("/orders/v2"));
    }

    @Test
    void reRegisteringUnchangedIsIdempotent() {
      register(registration("orders", "o1", prefix("/orders")));
      RegistryState before = store.state();

      register(registration("orders", "o1", prefix("/orders")));

      assertThat(store.state().revision()).isEqualTo(before.revision());
      assertThat(store.state()).isSameAs(before);
    }

    @Test
    void reRegisteringRenewsTheLease() {
      Lease lease = register(registration("orders", "o1"));
      advance(DEFAULT_TTL.minusSeconds(1));

      register(registration("orders", "o1"));
      advance(Duration.ofSeconds(5));

      assertThat(store.expireLeases()).isZero();
      assertThat(store.renew(lease.id())).isPresent();
    }

    @Test
    void aLeaseThatIsNotRenewedExpiresAfterItsTtl() {
      Lease lease = register(registration("orders", "o1"));
      register(registration("orders", "o2"));

      advance(DEFAULT_TTL.minusNanos(1));
      assertThat(store.expireLeases()).as("just before the TTL").isZero();
      assertThat(instanceIds("orders")).containsExactly("o1", "o2");

      store.renew(lease.id());
      advance(Duration.ofNanos(1));
      assertThat(store.expireLeases()).as("at the TTL").isEqualTo(1);
      assertThat(instanceIds("orders")).containsExactly("o1");
      assertThat(store.renew(lease.id())).isPresent();
    }

    @Test
    void anExpiredLeaseIsUnknown() {
      Lease lease = register(registration("orders", "o1"));
      advance(DEFAULT_TTL);

      store.expireLeases();

      assertThat(store.renew(lease.id())).isEmpty();
      assertThat(store.deregister(lease.id())).isFalse();
      assertThat(store.state().services()).isEmpty();
    }

    @Test
    void renewingExtendsTheLeaseByItsTtlFromNow() {
      Lease lease = register(registration("orders", "o1"));
      advance(Duration.ofSeconds(8));

      assertThat(store.renew(lease.id())).contains(lease);
      advance(Duration.ofSeconds(8));
      assertThat(store.expireLeases()).isZero();
      assertThat(instanceIds("orders")).containsExactly("o1");

      advance(Duration.ofSeconds(2));
      assertThat(store.expireLeases()).isEqualTo(1);
      assertThat(store.state().services()).isEmpty();
    }

    @Test
    void renewingKeepsTheGrantedTtl() {
      Lease lease =
          store.register(registration("orders", "o1"), Optional.of(Duration.ofSeconds(30)));

      assertThat(store.renew(lease.id()).orElseThrow().ttl()).isEqualTo(Duration.ofSeconds(30));
    }

    @Test
    void renewingAnUnknownLeaseIsEmpty() {
      assertThat(store.renew("lease-never-granted")).isEmpty();
    }

    @Test
    void renewingChangesNoState() {
      Lease lease = register(registration("orders", "o1"));
      int changesBefore = changes.get();
      long revision = store.state().revision();

      store.renew(lease.id());

      assertThat(store.state().revision()).isEqualTo(revision);
      assertThat(changes).hasValue(changesBefore);
    }

    @Test
    void deregisteringRemovesTheInstanceAtOnce() {
      register(registration("orders", "o1"));
      Lease lease = register(registration("orders", "o2"));

      assertThat(store.deregister(lease.id())).isTrue();

      assertThat(instanceIds("orders")).containsExactly("o1");
      assertThat(store.renew(lease.id())).isEmpty();
    }

    @Test
    void deregisteringAnUnknownLeaseReturnsFalse() {
      assertThat(store.deregister("lease-never-granted")).isFalse();
    }

    @Test
    void deregisteringTwiceReturnsFalseTheSecondTime() {
      Lease lease = register(registration("orders", "o1"));

      assertThat(store.deregister(lease.id())).isTrue();
      assertThat(store.deregister(lease.id())).isFalse();
    }

    @Test
    void theLastInstanceLeavingRemovesTheService() {
      Lease lease = register(registration("orders", "o1", prefix("/orders")));
      register(registration("billing", "b1", prefix("/billing")));

      store.deregister(lease.id());

      assertThat(store.state().services()).containsOnlyKeys("billing");
    }
  }

  @Nested
  class RouteOwnership {

    @Test
    void aSecondServiceClaimingTheSameHostAndMatchIsRefusedNamingTheOwner() {
      register(registration("orders", "o1", prefixOnHost("/orders", "api.example.com")));
      RegistryState before = store.state();
      int changesBefore = changes.get();

      assertThatThrownBy(
              () ->
                  register(
                      registration(
                          "billing",
                          "b1",
                          prefix("/billing"),
                          prefixOnHost("/orders", "api.example.com"))))
          .isInstanceOfSatisfying(
              RouteConflictException.class, e -> assertThat(e.owner()).isEqualTo("orders"))
          .hasMessageContaining("'orders'")
          .hasMessageContaining("api.example.com")
          .hasMessageContaining("/orders");

      assertThat(store.state()).isSameAs(before);
      assertThat(store.state().services()).containsOnlyKeys("orders");
      assertThat(changes).hasValue(changesBefore);
    }

    @Test
    void aRefusedReRegistrationLeavesTheInstanceAsItWas() {
      register(registration("orders", "o1", prefix("/orders")));
      register(registration("billing", "b1", prefix("/billing")));
      RegistryState before = store.state();

      assertThatThrownBy(() -> register(registration("billing", "b1", prefix("/orders"))))
          .isInstanceOf(RouteConflictException.class);

      assertThat(store.state()).isSameAs(before);
      assertThat(service("billing").routes()).containsExactly(prefix("/billing"));
    }

    @Test
    void routesWithoutHostsConflictOnTheAnyHost() {
      register(registration("orders", "o1", prefix("/orders")));

      assertThatThrownBy(() -> register(registration("billing", "b1", prefix("/orders"))))
          .isInstanceOf(RouteConflictException.class)
          .hasMessageContaining("host=*");
    }

    @Test
    void theSamePathOnADifferentHostIsAllowed() {
      register(registration("orders", "o1", prefixOnHost("/api", "orders.example.com")));

      register(registration("billing", "b1", prefixOnHost("/api", "billing.example.com")));

      assertThat(store.state().services()).containsOnlyKeys("billing", "orders");
    }

    @Test
    void anotherInstanceOfTheOwnerMayRegisterTheSameRoute() {
      register(registration("orders", "o1", prefix("/orders")));

      register(registration("orders", "o2", prefix("/orders")));

      assertThat(instanceIds("orders")).containsExactly("o1", "o2");
    }

    @Test
    void aRouteIsFreedWhenItsOwnerLeaves() {
      Lease lease = register(registration("orders", "o1", prefix("/orders")));
      store.deregister(lease.id());

      register(registration("billing", "b1", prefix("/orders")));

      assertThat(service("billing").routes()).containsExactly(prefix("/orders"));
    }

    @Test
    void aRouteIsFreedWhenItsOwnerStopsAskingForIt() {
      register(registration("orders", "o1", prefix("/orders")));
      register(registration("orders", "o1", prefix("/orders/v2")));

      register(registration("billing", "b1", prefix("/orders")));

      assertThat(service("billing").routes()).containsExactly(prefix("/orders"));
    }
  }

  @Nested
  class ServiceRoutes {

    @Test
    void theNewestRegistrationDefinesTheServicesRoutes() {
      register(registration("orders", "o1", prefix("/orders")));
      advance(Duration.ofSeconds(1));

      register(registration("orders", "o2", prefix("/orders"), prefix("/orders-v2")));

      assertThat(service("orders").routes())
          .containsExactly(prefix("/orders"), prefix("/orders-v2"));
      assertThat(instanceIds("orders")).containsExactly("o1", "o2");
    }

    @Test
    void whenTheNewestInstanceLeavesTheRoutesFallBackToTheRemainingInstances() {
      register(registration("orders", "o1", prefix("/orders")));
      Lease newest = register(registration("orders", "o2", prefix("/orders-v2")));

      store.deregister(newest.id());

      assertThat(service("orders").routes()).containsExactly(prefix("/orders"));
    }

    @Test
    void whenTheNewestInstanceExpiresTheRoutesFallBackToo() {
      store.register(
          registration("orders", "o1", prefix("/orders")), Optional.of(Duration.ofSeconds(60)));
      register(registration("orders", "o2", prefix("/orders-v2")));
      assertThat(service("orders").routes()).containsExactly(prefix("/orders-v2"));

      advance(DEFAULT_TTL);
      store.expireLeases();

      assertThat(instanceIds("orders")).containsExactly("o1");
      assertThat(service("orders").routes()).containsExactly(prefix("/orders"));
    }

    @Test
    void whenAnOlderInstanceLeavesTheNewestRoutesStay() {
      Lease older = register(registration("orders", "o1", prefix("/orders")));
      register(registration("orders", "o2", prefix("/orders-v2")));

      store.deregister(older.id());

      assertThat(service("orders").routes()).containsExactly(prefix("/orders-v2"));
    }

    @Test
    void aFallBackRouteAlreadyTakenByAnotherServiceStaysWithThatService() {
      register(registration("orders", "o1", prefix("/legacy")));
      Lease newest = register(registration("orders", "o2", prefix("/orders")));
      register(registration("billing", "b1", prefix("/legacy")));

      store.deregister(newest.id());

      assertThat(service("orders").routes()).isEmpty();
      assertThat(service("billing").routes()).containsExactly(prefix("/legacy"));
    }

    @Test
    void instancesAreSortedById() {
      register(registration("orders", "o3"));
      register(registration("orders", "o1"));
      register(registration("orders", "o2"));

      assertThat(instanceIds("orders")).containsExactly("o1", "o2", "o3");
    }
  }

  @Nested
  class TheState {

    @Test
    void isEmptyAtRevisionZeroAtFirst() {
      assertThat(store.state().revision()).isZero();
      assertThat(store.state().services()).isEmpty();
    }

    @Test
    void isTheSameObjectWhileNothingChanges() {
      register(registration("orders", "o1"));

      assertThat(store.state()).isSameAs(store.state());
    }

    @Test
    void isAnImmutableSnapshotThatLaterChangesDoNotAffect() {
      register(registration("orders", "o1"));
      RegistryState earlier = store.state();

      register(registration("billing", "b1"));

      assertThat(earlier.services()).containsOnlyKeys("orders");
      assertThat(store.state().services()).containsOnlyKeys("billing", "orders");
      assertThat(store.state().revision()).isGreaterThan(earlier.revision());
      assertThatThrownBy(() -> earlier.services().clear())
          .isInstanceOf(UnsupportedOperationException.class);
    }

    @Test
    void keepsTheWholeInstanceAsRegistered() {
      Instance instance =
          new Instance(
              "o1", "orders.internal", "10.1.2.3", 9090, "eu-west-1a", 5, Map.of("version", "7"));
      store.register(new Registration("orders", instance, List.of()), Optional.empty());

      assertThat(service("orders").instances()).containsExactly(instance);
    }
  }

  @Nested
  class ChangeListeners {

    @Test
    void areCalledOnEveryChange() {
      Lease lease = register(registration("orders", "o1"));
      assertThat(changes).hasValue(1);

      register(registration("orders", "o2"));
      assertThat(changes).hasValue(2);

      store.deregister(lease.id());
      assertThat(changes).hasValue(3);

      advance(DEFAULT_TTL);
      store.expireLeases();
      assertThat(changes).hasValue(4);
    }

    @Test
    void areNotCalledForANoOpReRegistration() {
      register(registration("orders", "o1", prefix("/orders")));
      int before = changes.get();

      register(registration("orders", "o1", prefix("/orders")));

      assertThat(changes).hasValue(before);
    }

    @Test
    void areNotCalledWhenNothingExpires() {
      register(registration("orders", "o1"));
      int before = changes.get();

      assertThat(store.expireLeases()).isZero();

      assertThat(changes).hasValue(before);
    }

    @Test
    void areCalledOnceForSeveralLeasesExpiringTogether() {
      register(registration("orders", "o1"));
      register(registration("orders", "o2"));
      register(registration("billing", "b1"));
      int before = changes.get();
      advance(DEFAULT_TTL);

      assertThat(store.expireLeases()).isEqualTo(3);

      assertThat(changes).hasValue(before + 1);
    }

    @Test
    void seeTheNewStateWhenCalled() {
      AtomicLong seenRevision = new AtomicLong(-1);
      store.addChangeListener(() -> seenRevision.set(store.state().revision()));

      register(registration("orders", "o1"));

      assertThat(seenRevision).hasValue(store.state().revision());
      assertThat(seenRevision.get()).isPositive();
    }
  }
}
