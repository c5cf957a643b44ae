package io.signalbox.store;

import io.signalbox.model.Registration;
import io.signalbox.model.RegistryQuotas;
import io.signalbox.model.ServiceState;
import java.util.List;
import java.util.Objects;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * Whether the registry admits a registration, renewal or removal: its routes take no other
 * service's requests (the first owner keeps a route), it stays within the quotas, and a live lease
 * it touches is the caller's. The engine asks it before every change it makes, and a shared store
 * through the engine before it commits a change of its own.
 *
 * <p>A class of its own so that the rules of admission read in one place, apart from how the engine
 * then makes the change. It reads the engine's lease table and route claims, so every check but
 * {@link #checkRoutesUnclaimed} is called with the engine's lock held.
 */
final class RegistrationAdmission {

  private final LeaseTable leases;
  private final RouteClaims routeClaims;
  private final Supplier<RegistryQuotas> quotas;
  private final LongSupplier nanoClock;

  /**
   * @param quotas read anew for every check: the settings may reload
   * @param nanoClock the time leases age on, to tell a live lease from an expired one
   */
  RegistrationAdmission(
      LeaseTable leases,
      RouteClaims routeClaims,
      Supplier<RegistryQuotas> quotas,
      LongSupplier nanoClock) {
    this.leases = Objects.requireNonNull(leases);
    this.routeClaims = Objects.requireNonNull(routeClaims);
    this.quotas = Objects.requireNonNull(quotas);
    this.nanoClock = Objects.requireNonNull(nanoClock);
  }

  /**
   * Checks a registration the engine is about to make, on every count; call with the engine's lock
   * held.
   *
   * @param bytes the registration's approximate size, measured before the lock was taken
   * @param current the service's state as the registry holds it, null when it holds none
   * @return the instance's live lease the registration replaces, or null
   * @throws RouteConflictException when a route of it would take another service's requests
   * @throws NotLeaseOwnerException when the instance's lease is live and another identity's
   * @throws QuotaExceededException when registering it would take more of the registry than a quota
   *     allows
   */
  LiveLease admit(Registration registration, long bytes, ServiceState current) {
    routeClaims.check(registration);
    LiveLease previous = leases.of(registration.service(), registration.instance().id());
    if (previous != null) {
      checkLeaseOwner(previous, registration.registrant());
    }
    checkQuotas(registration, bytes, previous, current);
    return previous;
  }

  /**
   * Call with the engine's lock held.
   *
   * @throws RouteConflictException when a route of the registration would take another service's
   *     requests
   */
  void checkRoutesFree(Registration registration) {
    routeClaims.check(registration);
  }

  /**
   * Checks a registration against the routes claimed by registrations of other services that commit
   * just before it (in the same transaction): the first owner of a route keeps it. Needs no lock:
   * it reads only what it is given.
   *
   * @throws RouteConflictException naming the first of those services that claims one of its routes
   */
  static void checkRoutesUnclaimed(Registration registration, List<Registration> claimedFirst) {
    RouteClaims claims = new RouteClaims();
    for (Registration earlier : claimedFirst) {
      claims.claim(earlier.service(), earlier.routes());
    }
    claims.check(registration);
  }

  /**
   * Checks the quotas for a registration that would replace the instance's live lease, if any; call
   * with the engine's lock held.
   *
   * @param bytes the registration's approximate size, measured before the lock was taken
   * @param current the service's state as the registry holds it, null when it holds none
   * @throws QuotaExceededException when registering it would take more of the registry than a quota
   *     allows
   */
  void checkQuotas(Registration registration, long bytes, ServiceState current) {
    checkQuotas(
        registration,
        bytes,
        leases.of(registration.service(), registration.instance().id()),
        current);
  }

  private void checkQuotas(
      Registration registration, long bytes, LiveLease previous, ServiceState current) {
    leases.checkQuotas(quotas.get(), registration, bytes, previous, current);
  }

  /**
   * Checks that {@code registrant} may register the lease's instance again, renew or deregister the
   * lease; an unknown lease passes (the caller answers as for any unknown lease). Call with the
   * engine's lock held.
   *
   * @throws NotLeaseOwnerException when the lease is live and another identity's
   */
  void checkLeaseOwner(String leaseId, String registrant) {
    LiveLease lease = leases.byLease(leaseId);
    if (lease != null) {
      checkLeaseOwner(lease, registrant);
    }
  }

  /**
   * A live lease of another identity may be neither registered again, renewed nor deregistered by
   * {@code registrant}; an expired one (not yet removed) is nobody's any more. Call with the
   * engine's lock held.
   *
   * @throws NotLeaseOwnerException when the lease is live and another identity's
   */
  void checkLeaseOwner(LiveLease lease, String registrant) {
    if (!lease.expiredAt(nanoClock.getAsLong())
        && NotLeaseOwnerException.ownedByAnother(lease.registration.registrant(), registrant)) {
      throw NotLeaseOwnerException.instance(lease.service(), lease.instanceId());
    }
  }
}
