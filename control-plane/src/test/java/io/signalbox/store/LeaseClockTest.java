package io.signalbox.store;

import static org.assertj.core.api.Assertions.assertThat;

import io.signalbox.model.Instance;
import io.signalbox.model.Registration;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * Leases age on a clock that stops while the control plane stops: a stall (GC pause, SIGSTOP,
 * frozen VM) extends leases by its length instead of expiring every instance at once, while an
 * instance that really stopped renewing still expires on time.
 */
class LeaseClockTest {

  private static final Duration BEAT = Duration.ofMillis(100);
  private static final Duration TTL = Duration.ofSeconds(10);

  private final AtomicLong realNanos = new AtomicLong(5_000_000_000L);
  private final LeaseClock clock = LeaseClock.manual(realNanos::get, Duration.ofSeconds(1));
  private final InMemoryRegistryStore store = new InMemoryRegistryStore(LeasePolicy.DEFAULT, clock);

  /** Time passes with the control plane running: the heartbeat beats. */
  private void run(Duration duration) {
    for (long t = 0; t < duration.toNanos(); t += BEAT.toNanos()) {
      realNanos.addAndGet(BEAT.toNanos());
      clock.beat();
    }
  }

  /** Time passes with the control plane stopped: nothing beats. */
  private void stall(Duration duration) {
    realNanos.addAndGet(duration.toNanos());
  }

  private Lease register(String instance) {
    return store.register(
        new Registration("orders", Instance.of(instance, "10.0.0.1", 8080), List.of()),
        Optional.of(TTL));
  }

  @Test
  void aStallLongerThanTheTtlExpiresNoLeaseAndRenewalsAfterItSucceed() {
    Lease first = register("orders-1");
    Lease second = register("orders-2");
    run(Duration.ofSeconds(5));

    stall(Duration.ofSeconds(15));

    assertThat(store.renew(first.id())).as("the first renewal after the stall").isPresent();
    assertThat(store.expireLeases()).isZero();
    assertThat(store.renew(second.id())).isPresent();
    assertThat(store.state().services().get("orders").instances()).hasSize(2);
  }

  @Test
  void anInstanceThatStopsRenewingStillExpiresWithinItsTtl() {
    Lease lease = register("orders-1");

    run(TTL.minusMillis(200));
    assertThat(store.expireLeases()).isZero();
    run(Duration.ofMillis(300));

    assertThat(store.expireLeases()).isEqualTo(1);
    assertThat(store.renew(lease.id())).isEmpty();
  }

  @Test
  void betweenBeatsTheClockAdvancesWithRealTimeUpToOneStepAndNeverGoesBack() {
    long start = clock.getAsLong();
    stall(Duration.ofMillis(400));
    assertThat(clock.getAsLong() - start).isEqualTo(Duration.ofMillis(400).toNanos());

    stall(Duration.ofSeconds(30));
    long duringStall = clock.getAsLong();
    assertThat(duringStall - start).isEqualTo(Duration.ofSeconds(1).toNanos());

    clock.beat();
    assertThat(clock.getAsLong()).isEqualTo(duringStall);
    run(BEAT);
    assertThat(clock.getAsLong()).isEqualTo(duringStall + BEAT.toNanos());
  }
}
