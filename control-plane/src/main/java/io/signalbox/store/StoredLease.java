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
 */
public record StoredLease(
    Registration registration,
    String leaseId,
    long sequence,
    Duration ttl,
    Instant registeredAt,
    Instant expiresAt,
    boolean drained) {

  public StoredLease {
    Objects.requireNonNull(registration, "registration");
    Objects.requireNonNull(leaseId, "leaseId");
    Objects.requireNonNull(ttl, "ttl");
    Objects.requireNonNull(registeredAt, "registeredAt");
    Objects.requireNonNull(expiresAt, "expiresAt");
  }
}
