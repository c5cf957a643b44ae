package io.signalbox.store;

import io.signalbox.model.Registration;
import java.time.Duration;
import java.time.Instant;

/**
 * A live lease in the {@link LeaseTable}: the registration it keeps and when it ends on the
 * engine's monotonic clock. Mutable in its expiry and marks only, under the engine's lock.
 */
final class LiveLease {
  final Registration registration;
  final String leaseId;

  /** The registration order: the newest registration of a service sets its routes. */
  final long sequence;

  /**
   * The registration's {@link Registration#approximateBytes()}, taken once (by the caller that
   * registers, before it queues for the lock): the quota ledger counts it in and out, and it costs
   * a walk of the whole registration.
   */
  final long approximateBytes;

  final Duration ttl;
  final Instant registeredAt;

  /** Moved only through {@link LeaseTable#extend} while indexed: the table is ordered on it. */
  long expiresAtNanos;

  boolean drained;

  /** Reported NOT_SERVING by the instance itself: still registered, but Envoy sees it unhealthy. */
  boolean notServing;

  /**
   * Renewed at least once: an instance that keeps its lease, not one that registered and never came
   * back.
   */
  boolean renewed;

  LiveLease(
      Registration registration,
      String leaseId,
      long sequence,
      Duration ttl,
      long expiresAtNanos,
      Instant registeredAt,
      long approximateBytes) {
    this.registration = registration;
    this.leaseId = leaseId;
    this.sequence = sequence;
    this.approximateBytes = approximateBytes;
    this.ttl = ttl;
    this.expiresAtNanos = expiresAtNanos;
    this.registeredAt = registeredAt;
  }

  String service() {
    return registration.service();
  }

  String instanceId() {
    return registration.instance().id();
  }

  boolean expiredAt(long nowNanos) {
    return nowNanos - expiresAtNanos >= 0;
  }

  /** As a back end writes it at {@code now}: expiring one TTL from then, as a renewal would. */
  StoredLease stored(Instant now) {
    return new StoredLease(
        registration, leaseId, sequence, ttl, registeredAt, now.plus(ttl), drained, notServing);
  }

  RegisteredInstance view(long nowNanos) {
    Duration remaining = Duration.ofNanos(Math.max(0, expiresAtNanos - nowNanos));
    return new RegisteredInstance(
        service(),
        registration.instance(),
        leaseId,
        ttl,
        remaining,
        registeredAt,
        drained,
        notServing);
  }
}
