package io.signalbox.store;

import io.signalbox.model.Registration;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;

/**
 * One live registration as a {@link RegistryJournal} keeps it: enough to rebuild the store after a
 * restart with the same lease ids, so that the SDKs' keep-alives go on working.
 *
 * @param sequence the order in which registrations were made: the newest registration of a service
 *     sets its routes, and the first owner of a route keeps it
 * @param expiresAt wall-clock expiry when the lease was last written; renewals are not written (one
 *     disk write per keep-alive would cost more than it saves), so a restart grants every lease a
 *     grace period instead
 * @param drained taken out of traffic by an operator; the instance stays registered
 * @param notServing the instance reported itself NOT_SERVING; Envoy sees it unhealthy
 */
public record StoredLease(
    Registration registration,
    String leaseId,
    long sequence,
    Duration ttl,
    Instant registeredAt,
    Instant expiresAt,
    boolean drained,
    boolean notServing) {

  public StoredLease {
    Objects.requireNonNull(registration, "registration");
    Objects.requireNonNull(leaseId, "leaseId");
    Objects.requireNonNull(ttl, "ttl");
    Objects.requireNonNull(registeredAt, "registeredAt");
    Objects.requireNonNull(expiresAt, "expiresAt");
  }

  public StoredLease withExpiresAt(Instant expiry) {
    return new StoredLease(
        registration, leaseId, sequence, ttl, registeredAt, expiry, drained, notServing);
  }

  public StoredLease withSequence(long order) {
    return new StoredLease(
        registration, leaseId, order, ttl, registeredAt, expiresAt, drained, notServing);
  }

  public StoredLease withDrained(boolean drain) {
    return new StoredLease(
        registration, leaseId, sequence, ttl, registeredAt, expiresAt, drain, notServing);
  }

  public StoredLease withNotServing(boolean notServingNow) {
    return new StoredLease(
        registration, leaseId, sequence, ttl, registeredAt, expiresAt, drained, notServingNow);
  }
}
