package io.signalbox.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.signalbox.model.Instance;
import io.signalbox.model.RegistryState;
import io.signalbox.model.ServiceState;
import io.signalbox.testing.TestRegistrations;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/** What operators see of the store and do to it: listing with lease time left, drain, evict. */
class RegistryAdminTest {

  private final AtomicLong now = new AtomicLong(5_000_000_000_000L);
  private final InMemoryRegistryStore store =
      new InMemoryRegistryStore(LeasePolicy.DEFAULT, now::get);
  private final AtomicInteger changes = new AtomicInteger();

  {
    store.addChangeListener(changes::incrementAndGet);
  }

  private Lease register(String service, String instanceId, String prefix) {
    return store.register(
        TestRegistrations.withPrefix(service, instanceId, prefix), Optional.empty());
  }

  private List<String> servingIds(String service) {
    ServiceState state = store.state().services().get(service);
    return state == null ? null : state.instances().stream().map(Instance::id).toList();
  }

  @Nested
  class Listing {

    @Test
    void listsEveryLiveRegistrationSortedWithTheLeaseTimeLeft() {
      register("users", "u1", "/users");
      register("orders", "o2", "/orders");
      register("orders", "o1", "/orders");
      now.addAndGet(Duration.ofSeconds(3).toNanos());

      List<RegisteredInstance> instances = store.registeredInstances();

      assertThat(instances)
          .extracting(i -> i.service() + "/" + i.instance().id())
          .containsExactly("orders/o1", "orders/o2", "users/u1");
      assertThat(instances)
          .allSatisfy(
              i -> {
                assertThat(i.ttl()).isEqualTo(Duration.ofSeconds(10));
                assertThat(i.leaseRemaining()).isEqualTo(Duration.ofSeconds(7));
                assertThat(i.drained()).isFalse();
              });
    }

    @Test
    void reRegisteringKeepsTheRegistrationTime() {
      register("orders", "o1", "/orders");
      RegisteredInstance first = store.registeredInstances().get(0);

      register("orders", "o1", "/orders");

      assertThat(store.registeredInstances().get(0).registeredAt()).isEqualTo(first.registeredAt());
    }
  }

  @Nested
  class Drain {

    @Test
    void aDrainedInstanceLeavesTheStateButKeepsItsLease() {
      Lease lease = register("orders", "o1", "/orders");
      register("orders", "o2", "/orders");
      int before = changes.get();

      RegisteredInstance drained =
          store.setDrained("orders", "o1", true, "spiffe://signalbox.local/operator/test");

      assertThat(drained.drained()).isTrue();
      assertThat(servingIds("orders")).containsExactly("o2");
      assertThat(store.renew(lease.id())).isPresent();
      assertThat(store.registeredInstances())
          .extracting(RegisteredInstance::drained)
          .containsExactly(true, false);
      assertThat(changes.get()).isEqualTo(before + 1);
    }

    @Test
    void aServiceWhoseInstancesAreAllDrainedKeepsItsRoutesAndTheirOwnership() {
      register("orders", "o1", "/orders");

      store.setDrained("orders", "o1", true, "spiffe://signalbox.local/operator/test");

      ServiceState orders = store.state().services().get("orders");
      assertThat(orders.instances()).isEmpty();
      assertThat(orders.routes()).hasSize(1);
      assertThatThrownBy(() -> register("thief", "t1", "/orders"))
          .isInstanceOf(RouteConflictException.class);
    }

    @Test
    void reRegisteringWhileDrainedStaysDrained() {
      register("orders", "o1", "/orders");
      store.setDrained("orders", "o1", true, "spiffe://signalbox.local/operator/test");

      register("orders", "o1", "/orders");

      assertThat(servingIds("orders")).isEmpty();
    }

    @Test
    void theDrainEndsWithTheLease() {
      Lease lease = register("orders", "o1", "/orders");
      store.setDrained("orders", "o1", true, "spiffe://signalbox.local/operator/test");
      store.deregister(lease.id());

      register("orders", "o1", "/orders");

      assertThat(servingIds("orders")).containsExactly("o1");
    }

    @Test
    void undrainingPutsTheInstanceBack() {
      register("orders", "o1", "/orders");
      store.setDrained("orders", "o1", true, "spiffe://signalbox.local/operator/test");

      store.setDrained("orders", "o1", false, "spiffe://signalbox.local/operator/test");

      assertThat(servingIds("orders")).containsExactly("o1");
    }

    @Test
    void drainingTwiceChangesNothingTheSecondTime() {
      register("orders", "o1", "/orders");
      store.setDrained("orders", "o1", true, "spiffe://signalbox.local/operator/test");
      RegistryState state = store.state();
      int before = changes.get();

      store.setDrained("orders", "o1", true, "spiffe://signalbox.local/operator/test");

      assertThat(store.state()).isSameAs(state);
      assertThat(changes.get()).isEqualTo(before);
    }

    @Test
    void unknownServicesAndInstancesAreNamed() {
      register("orders", "o1", "/orders");

      assertThatThrownBy(
              () ->
                  store.setDrained("billing", "b1", true, "spiffe://signalbox.local/operator/test"))
          .isInstanceOf(NotRegisteredException.class)
          .hasMessage("service 'billing' is not registered");
      assertThatThrownBy(
              () ->
                  store.setDrained("orders", "o9", true, "spiffe://signalbox.local/operator/test"))
          .isInstanceOf(NotRegisteredException.class)
          .hasMessage("instance 'o9' of service 'orders' is not registered");
    }
  }

  @Nested
  class Evict {

    @Test
    void evictingAServiceRemovesAllItsInstancesInOneChange() {
      register("orders", "o1", "/orders");
      register("orders", "o2", "/orders");
      register("users", "u1", "/users");
      int before = changes.get();

      List<String> evicted =
          store.evict("orders", Optional.empty(), "spiffe://signalbox.local/operator/test");

      assertThat(evicted).containsExactly("o1", "o2");
      assertThat(store.state().services()).containsOnlyKeys("users");
      assertThat(changes.get()).isEqualTo(before + 1);
    }

    @Test
    void evictingOneInstanceLeavesTheOthers() {
      Lease o1 = register("orders", "o1", "/orders");
      register("orders", "o2", "/orders");

      assertThat(store.evict("orders", Optional.of("o1"), "spiffe://signalbox.local/operator/test"))
          .containsExactly("o1");

      assertThat(servingIds("orders")).containsExactly("o2");
      assertThat(store.renew(o1.id())).as("the evicted lease is gone").isEmpty();
    }

    @Test
    void evictingSomethingUnknownChangesNothing() {
      register("orders", "o1", "/orders");
      RegistryState state = store.state();

      assertThatThrownBy(
              () ->
                  store.evict(
                      "orders", Optional.of("o9"), "spiffe://signalbox.local/operator/test"))
          .isInstanceOf(NotRegisteredException.class);
      assertThatThrownBy(
              () ->
                  store.evict(
                      "billing", Optional.empty(), "spiffe://signalbox.local/operator/test"))
          .isInstanceOf(NotRegisteredException.class);

      assertThat(store.state()).isSameAs(state);
    }

    @Test
    void theEndOfAGracePeriodEvictsOnlyTheSameLeaseStillDrained() {
      Lease first = register("orders", "o1", "/orders");
      store.setDrained("orders", "o1", true, "spiffe://signalbox.local/operator/test");
      store.setDrained("orders", "o1", false, "spiffe://signalbox.local/operator/test");
      assertThat(store.evictIfStillDrained("orders", "o1", first.id()))
          .as("undrained meanwhile")
          .isFalse();

      store.setDrained("orders", "o1", true, "spiffe://signalbox.local/operator/test");
      store.deregister(first.id());
      Lease second = register("orders", "o1", "/orders");
      store.setDrained("orders", "o1", true, "spiffe://signalbox.local/operator/test");
      assertThat(store.evictIfStillDrained("orders", "o1", first.id()))
          .as("registered anew meanwhile")
          .isFalse();

      assertThat(store.evictIfStillDrained("orders", "o1", second.id())).isTrue();
      assertThat(store.state().services()).doesNotContainKey("orders");
    }
  }

  @Nested
  class Revoke {

    private static Optional<String> refuseOrders(io.signalbox.model.Registration registration) {
      return registration.service().equals("orders")
          ? Optional.of("identity 'x' may not register service 'orders'")
          : Optional.empty();
    }

    @Test
    void revokingRemovesTheRefusedInstancesInOneChangeAndKeepsTheOthers() {
      Lease o1 = register("orders", "o1", "/orders");
      register("orders", "o2", "/orders");
      Lease u1 = register("users", "u1", "/users");
      int before = changes.get();

      List<RevokedRegistration> revoked =
          store.revoke(
              RegistryAdminTest.Revoke::refuseOrders, "revoked by the access policy reloaded");

      assertThat(revoked)
          .extracting(r -> r.service() + "/" + r.instanceId() + ": " + r.reason())
          .containsExactly(
              "orders/o1: identity 'x' may not register service 'orders'",
              "orders/o2: identity 'x' may not register service 'orders'");
      assertThat(store.state().services()).containsOnlyKeys("users");
      assertThat(changes.get()).as("one change").isEqualTo(before + 1);
      assertThat(store.renew(o1.id())).as("the revoked lease is gone").isEmpty();
      assertThat(store.renew(u1.id())).isPresent();
    }

    @Test
    void revokingWhenNothingIsRefusedChangesNothing() {
      register("users", "u1", "/users");
      RegistryState state = store.state();
      int before = changes.get();

      assertThat(store.revoke(RegistryAdminTest.Revoke::refuseOrders, "test")).isEmpty();

      assertThat(store.state()).isSameAs(state);
      assertThat(changes.get()).isEqualTo(before);
    }

    @Test
    void anInstanceRegisteredAgainWhileItWasJudgedKeepsItsNewRegistration() {
      register("orders", "o1", "/orders");

      // The new registration went through admission under the policy in force; the one judged is
      // gone.
      List<RevokedRegistration> revoked =
          store.revoke(
              registration -> {
                register("orders", "o1", "/orders/v2");
                return refuseOrders(registration);
              },
              "test");

      assertThat(revoked).isEmpty();
      assertThat(store.state().services().get("orders").routes())
          .extracting(route -> route.match().path().value())
          .containsExactly("/orders/v2");
    }
  }
}
