package io.signalbox.store;

import static org.assertj.core.api.Assertions.assertThat;

import io.signalbox.metrics.SignalboxMetrics;
import io.signalbox.model.Instance;
import io.signalbox.model.Registration;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The reaper holds expiry back when too many leases run out at once (the control plane, not the
 * fleet, is the likely cause), and expires as usual when a few do.
 */
class MassExpiryProtectionTest {

  private final AtomicLong now = new AtomicLong(1_000_000_000_000L);
  private final InMemoryRegistryStore store =
      new InMemoryRegistryStore(LeasePolicy.DEFAULT, now::get);
  private final SignalboxMetrics metrics = SignalboxMetrics.prometheus();

  /** Ticks only when the test says so. */
  private final LeaseReaper reaper =
      new LeaseReaper(store, Duration.ofHours(1), metrics, MassExpiryProtection.DEFAULT);

  @AfterEach
  void close() {
    reaper.close();
    metrics.close();
  }

  /** Instances that register and renew once, as a running SDK does. */
  private List<Lease> register(int count, Duration ttl) {
    return register(count, ttl, "", true);
  }

  private List<Lease> register(int count, Duration ttl, String identity, boolean renewing) {
    List<Lease> leases = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      Lease lease =
          store.register(
              new Registration(
                  "svc-" + ttl.toSeconds() + identity.hashCode(),
                  Instance.of("i-" + i, "10.0.0.1", 8000 + i),
                  List.of(),
                  identity),
              Optional.of(ttl));
      if (renewing) {
        store.renew(lease.id());
      }
      leases.add(lease);
    }
    return leases;
  }

  private void advance(Duration duration) {
    now.addAndGet(duration.toNanos());
  }

  @Test
  void
      moreThanHalfOfTheFleetExpiringAtOncePausesExpiryUntilRenewalsBringTheShareBackUnderTheLimit() {
    List<Lease> shortLived = register(6, Duration.ofSeconds(5));
    register(4, Duration.ofMinutes(5));
    metrics.bindLeaseExpiryPaused(reaper::paused);
    advance(Duration.ofSeconds(6));

    reaper.tick();

    assertThat(reaper.paused()).isTrue();
    assertThat(store.registeredInstances()).hasSize(10);
    assertThat(metrics.scrape())
        .contains("signalbox_lease_expiry_paused 1.0")
        .contains("signalbox_lease_expiry_pauses_total 1.0");
    reaper.tick();
    assertThat(metrics.scrape())
        .as("one pause, however many ticks")
        .contains("signalbox_lease_expiry_pauses_total 1.0");

    // Two instances come back (an SDK whose lease expired registers again and keeps its lease id);
    // 4 of 10 expired.
    for (int i = 0; i < 2; i++) {
      Lease again =
          store.register(
              new Registration(
                  "svc-5" + "".hashCode(), Instance.of("i-" + i, "10.0.0.1", 8000 + i), List.of()),
              Optional.of(Duration.ofSeconds(5)));
      assertThat(again.id()).isEqualTo(shortLived.get(i).id());
    }
    reaper.tick();

    assertThat(reaper.paused()).isFalse();
    assertThat(store.registeredInstances()).hasSize(6);
    assertThat(metrics.scrape()).contains("signalbox_lease_expiry_paused 0.0");
  }

  @Test
  void junkThatRegisteredAndNeverRenewedCannotSwitchTheProtectionOn() {
    register(4, Duration.ofMinutes(5));
    register(20, Duration.ofSeconds(1), "", false);
    advance(Duration.ofSeconds(2));

    reaper.tick();

    assertThat(reaper.paused()).isFalse();
    assertThat(store.registeredInstances()).hasSize(4);
  }

  @Test
  void oneIdentitysInstancesStoppingTogetherDoNotPauseExpiryForEveryone() {
    register(3, Duration.ofMinutes(5), "spiffe://signalbox.local/service/a", true);
    register(3, Duration.ofMinutes(5), "spiffe://signalbox.local/service/b", true);
    register(10, Duration.ofSeconds(5), "spiffe://signalbox.local/service/attacker", true);
    advance(Duration.ofSeconds(6));

    reaper.tick();

    assertThat(reaper.paused()).isFalse();
    assertThat(store.registeredInstances()).hasSize(6);
  }

  @Test
  void manyIdentitiesExpiringAtOnceStillPause() {
    register(3, Duration.ofMinutes(5), "spiffe://signalbox.local/service/a", true);
    register(4, Duration.ofSeconds(5), "spiffe://signalbox.local/service/b", true);
    register(4, Duration.ofSeconds(5), "spiffe://signalbox.local/service/c", true);
    advance(Duration.ofSeconds(6));

    reaper.tick();

    assertThat(reaper.paused()).isTrue();
    assertThat(store.registeredInstances()).hasSize(11);
  }

  @Test
  void aSmallFleetCanStillLoseOneInstanceOfTwo() {
    register(1, Duration.ofSeconds(5));
    register(1, Duration.ofMinutes(5));
    advance(Duration.ofSeconds(6));

    reaper.tick();

    assertThat(reaper.paused()).isFalse();
    assertThat(store.registeredInstances()).hasSize(1);
  }

  @Test
  void upToTheFloorExpiresEvenWhenItIsTheWholeFleet() {
    register(2, Duration.ofSeconds(5));
    advance(Duration.ofSeconds(6));

    reaper.tick();

    assertThat(store.registeredInstances()).isEmpty();
  }

  @Test
  void aShareOfOneDisablesTheProtection() {
    try (LeaseReaper unprotected =
        new LeaseReaper(store, Duration.ofHours(1), metrics, new MassExpiryProtection(1.0, 2))) {
      register(10, Duration.ofSeconds(5));
      advance(Duration.ofSeconds(6));

      unprotected.tick();

      assertThat(unprotected.paused()).isFalse();
      assertThat(store.registeredInstances()).isEmpty();
    }
  }
}
