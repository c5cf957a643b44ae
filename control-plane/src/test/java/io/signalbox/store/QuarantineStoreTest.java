package io.signalbox.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.signalbox.model.RegistryState;
import io.signalbox.model.ServiceState;
import io.signalbox.testing.TestRegistrations;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * A quarantined service stays in the registry and leaves only what the gateway is built from, until
 * it registers with a different state, its last instance leaves, or an operator releases it.
 */
class QuarantineStoreTest {

  private final InMemoryRegistryStore store = new InMemoryRegistryStore(LeasePolicy.DEFAULT);
  private final AtomicInteger changes = new AtomicInteger();

  {
    store.addChangeListener(changes::incrementAndGet);
  }

  private Lease register(String service, String instanceId, String prefix) {
    return store.register(
        TestRegistrations.withPrefix(service, instanceId, prefix), Optional.empty());
  }

  private ServiceState stateOf(String service) {
    return store.state().services().get(service);
  }

  private boolean quarantine(String service) {
    return store.quarantine(
        service, stateOf(service), store.state().revision(), "edge-1 rejected routes: bad");
  }

  @Test
  void aQuarantinedServiceLeavesTheServedStateOnlyAndIsAChange() {
    register("orders", "o1", "/orders");
    register("search", "s1", "/search");
    RegistryState before = store.state();
    int changesBefore = changes.get();

    assertThat(quarantine("search")).isTrue();

    assertThat(store.servedState().services()).containsOnlyKeys("orders");
    assertThat(store.servedState().revision())
        .isGreaterThan(before.revision())
        .isEqualTo(store.state().revision());
    assertThat(store.state().services()).containsOnlyKeys("orders", "search");
    assertThat(store.registeredInstances())
        .extracting(RegisteredInstance::service)
        .contains("search");
    assertThat(changes.get()).isEqualTo(changesBefore + 1);
    Quarantine quarantine = store.quarantined().get("search");
    assertThat(quarantine.reason()).isEqualTo("edge-1 rejected routes: bad");
    assertThat(quarantine.rejected()).isEqualTo(stateOf("search"));
  }

  @Test
  void withoutQuarantinesTheServedStateIsTheState() {
    register("orders", "o1", "/orders");

    assertThat(store.servedState()).isSameAs(store.state());
  }

  @Test
  void theSameRegistrationAgainStaysQuarantined() {
    register("search", "s1", "/search");
    quarantine("search");

    register("search", "s1", "/search");

    assertThat(store.quarantined()).containsOnlyKeys("search");
    assertThat(store.servedState().services()).isEmpty();
  }

  @Test
  void aRegistrationThatChangesTheServiceGivesItAnotherChance() {
    register("search", "s1", "/search");
    quarantine("search");

    register("search", "s1", "/search/v2");

    assertThat(store.quarantined()).isEmpty();
    assertThat(store.servedState().services()).containsOnlyKeys("search");
  }

  @Test
  void aDrainIsNotARegistrationAndReleasesNothing() {
    register("search", "s1", "/search");
    register("search", "s2", "/search");
    quarantine("search");

    store.setDrained("search", "s2", true, "spiffe://signalbox.local/operator/test");

    assertThat(store.quarantined()).containsOnlyKeys("search");
  }

  @Test
  void theQuarantineEndsWithTheLastInstance() {
    Lease lease = register("search", "s1", "/search");
    quarantine("search");

    store.deregister(lease.id());
    register("search", "s1", "/search");

    assertThat(store.quarantined()).isEmpty();
    assertThat(store.servedState().services()).containsOnlyKeys("search");
  }

  @Test
  void aServiceThatRegisteredAnewSinceTheRejectedRevisionIsNotQuarantined() {
    register("search", "s1", "/search");
    ServiceState rejected = stateOf("search");
    long rejectedRevision = store.state().revision();
    register("search", "s1", "/search/fixed");

    assertThat(store.quarantine("search", rejected, rejectedRevision, "bad")).isFalse();
    assertThat(store.quarantine("gone", rejected, rejectedRevision, "bad")).isFalse();
    assertThat(store.quarantined()).isEmpty();
  }

  @Test
  void anOperatorReleasesAQuarantine() {
    register("search", "s1", "/search");
    quarantine("search");
    int changesBefore = changes.get();

    assertThat(store.releaseQuarantine("search")).isPresent();
    assertThat(store.releaseQuarantine("search")).as("releasing twice changes nothing").isEmpty();

    assertThat(store.servedState().services()).containsOnlyKeys("search");
    assertThat(changes.get()).isEqualTo(changesBefore + 1);
    assertThatThrownBy(() -> store.releaseQuarantine("billing"))
        .isInstanceOf(NotRegisteredException.class)
        .hasMessageContaining("billing");
  }

  @Test
  void aQuarantinedServiceKeepsItsRoutes() {
    register("search", "s1", "/search");
    quarantine("search");

    assertThatThrownBy(() -> register("other", "x1", "/search"))
        .isInstanceOf(RouteConflictException.class);
  }
}
