package io.signalbox.store;

import static org.assertj.core.api.Assertions.assertThat;

import io.signalbox.model.RegistryState;
import io.signalbox.model.ServiceChangeLog;
import io.signalbox.model.ServiceState;
import io.signalbox.testing.TestRegistrations;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * Two states of one view of the registry name the services they differ in from the registry's
 * change log, at a cost that follows the changes between them; states of different views, or too
 * far apart, say they cannot, and are then compared in full.
 */
class ServiceChangeLogTest {

  private final AtomicLong nanos = new AtomicLong();
  private final InMemoryRegistryStore store =
      new InMemoryRegistryStore(LeasePolicy.DEFAULT, nanos::get);

  private Lease register(String service, String instanceId, String prefix) {
    return store.register(
        TestRegistrations.withPrefix(service, instanceId, prefix),
        Optional.of(Duration.ofSeconds(10)));
  }

  /** The services whose state differs between two states, by comparing every one. */
  private static Set<String> differing(RegistryState a, RegistryState b) {
    Set<String> names = new TreeSet<>(a.services().keySet());
    names.addAll(b.services().keySet());
    names.removeIf(
        name -> java.util.Objects.equals(a.services().get(name), b.services().get(name)));
    return names;
  }

  @Test
  void statesOfOneViewNameEveryServiceTheyDifferInOverRandomChanges() {
    Random random = new Random(20261205);
    List<String> leases = new ArrayList<>();
    List<RegistryState> whole = new ArrayList<>();
    List<RegistryState> served = new ArrayList<>();
    for (int step = 0; step < 600; step++) {
      String service = "svc-" + random.nextInt(12);
      int choice = random.nextInt(11);
      if (choice < 5 || leases.isEmpty()) {
        leases.add(register(service, "i" + random.nextInt(30), "/" + service).id());
      } else if (choice < 7) {
        store.deregister(leases.remove(random.nextInt(leases.size())));
      } else if (choice < 8) {
        store.setServing(leases.get(random.nextInt(leases.size())), random.nextBoolean(), "");
      } else if (choice < 9) {
        ServiceState current = store.state().services().get(service);
        if (current != null) {
          store.quarantine(service, current, store.state().revision(), "rejected");
        }
      } else if (choice < 10) {
        try {
          store.releaseQuarantine(service);
        } catch (RuntimeException notRegistered) {
          // Nothing to release: no change.
        }
      } else {
        nanos.addAndGet(Duration.ofSeconds(random.nextInt(15)).toNanos());
        store.expireLeases();
      }
      whole.add(store.state());
      served.add(store.servedState());
    }

    int named = 0;
    for (int i = 0; i < 3000; i++) {
      List<RegistryState> states = random.nextBoolean() ? whole : served;
      RegistryState a = states.get(random.nextInt(states.size()));
      RegistryState b = states.get(random.nextInt(states.size()));
      Optional<SortedSet<String>> changed = b.servicesChangedSince(a);
      Set<String> differing = differing(a, b);
      assertThat(b.servicesDifferingFrom(a))
          .as("revisions %d and %d", a.revision(), b.revision())
          .containsExactlyElementsOf(differing);
      assertThat(
              new RegistryState(b.revision(), b.services(), b.changedBy()).servicesDifferingFrom(a))
          .as("compared in full")
          .containsExactlyElementsOf(differing);
      if (changed.isPresent()) {
        named++;
        assertThat(changed.get())
            .as("revisions %d and %d", a.revision(), b.revision())
            .containsAll(differing);
        assertThat(a.servicesChangedSince(b)).contains(changed.get());
      }
      if (states == whole) {
        assertThat(changed)
            .as("states of the whole registry always compare by the log")
            .isPresent();
      }
    }
    assertThat(named).isGreaterThan(2000);
  }

  @Test
  void aStateOfTheWholeRegistryAndOneOfTheServedViewDoNotCompareByTheLog() {
    register("orders", "o1", "/orders");
    register("users", "u1", "/users");
    RegistryState wholeBefore = store.state();
    store.quarantine("users", store.state().services().get("users"), store.state().revision(), "");

    assertThat(store.servedState().services()).doesNotContainKey("users");
    assertThat(store.servedState().servicesChangedSince(wholeBefore)).isEmpty();
    assertThat(store.state().servicesChangedSince(wholeBefore))
        .contains(new TreeSet<>(Set.of("users")));
  }

  @Test
  void statesFurtherApartThanTheLogHoldsAreComparedInFull() {
    register("orders", "o1", "/orders");
    RegistryState first = store.state();
    RegistryState previous = first;
    for (int i = 0; i <= ServiceChangeLog.CAPACITY; i++) {
      previous = store.state();
      register("orders", "o1", "/orders/" + i);
    }

    assertThat(store.state().servicesChangedSince(previous))
        .contains(new TreeSet<>(Set.of("orders")));
    assertThat(store.state().servicesChangedSince(first)).isEmpty();
    assertThat(first.servicesChangedSince(store.state())).isEmpty();
  }

  @Test
  void aStateMadeElsewhereHasNoLog() {
    register("orders", "o1", "/orders");
    RegistryState made = new RegistryState(store.state().revision(), store.state().services());

    assertThat(store.state().servicesChangedSince(made)).isEmpty();
    assertThat(made.servicesChangedSince(store.state())).isEmpty();
    assertThat(store.state().servicesChangedSince(store.state())).contains(new TreeSet<>());
  }
}
