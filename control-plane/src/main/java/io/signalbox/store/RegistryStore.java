package io.signalbox.store;

import io.signalbox.model.Registration;
import java.time.Duration;
import java.util.Optional;

/**
 * Registrations and their leases. Implementations are thread-safe; every mutation that changes the
 * {@link #state()} notifies the listeners after it is visible.
 */
public interface RegistryStore extends RegistryView {

  /**
   * Registers an instance, or replaces the registration of the same (service, instance id) and
   * renews its lease, keeping the lease id.
   *
   * @throws RouteConflictException when another service owns one of the routes; nothing changes
   *     then
   * @throws NotLeaseOwnerException when the instance is live under a lease of another registrant (a
   *     non-empty {@link Registration#registrant()} other than this registration's); nothing
   *     changes then
   */
  Lease register(Registration registration, Optional<Duration> requestedTtl);

  /**
   * Renews a lease; empty when the lease is unknown (expired, deregistered, or never granted here).
   */
  Optional<Lease> renew(String leaseId);

  /** Removes the instance at once; false when the lease is unknown. */
  boolean deregister(String leaseId);

  /**
   * As {@link #renew(String)}, for {@code registrant}: a lease registered by another identity is
   * not renewed. An empty registrant (a caller on a plaintext control plane) and a lease registered
   * by nobody in particular pass.
   *
   * @throws NotLeaseOwnerException when the lease is live and belongs to another registrant;
   *     nothing changes then
   */
  Optional<Lease> renew(String leaseId, String registrant);

  /**
   * As {@link #deregister(String)}, for {@code registrant}, with the ownership rule of {@link
   * #renew(String, String)}.
   *
   * @throws NotLeaseOwnerException when the lease is live and belongs to another registrant;
   *     nothing changes then
   */
  boolean deregister(String leaseId, String registrant);

  /** Removes every instance whose lease has expired; returns how many. */
  int expireLeases();

  /**
   * Sets the status the instance of the lease reports of itself; a NOT_SERVING instance stays
   * registered and is sent to Envoy as unhealthy. Returns false when the lease is unknown.
   *
   * @throws NotLeaseOwnerException when the lease is live and belongs to another registrant
   */
  boolean setServing(String leaseId, boolean serving, String registrant);

  /** How many leases are live, and how many of them have expired but not yet been removed. */
  LeaseCounts leaseCounts();

  /**
   * Expires only the expired leases that were never renewed (registered and never came back), which
   * say nothing about the control plane's network: done even while mass-expiry protection holds the
   * others back.
   *
   * @return how many expired
   */
  default int expireNeverRenewedLeases() {
    return 0;
  }

  /**
   * What {@link #leaseCounts()} returns.
   *
   * @param expiredNeverRenewed of the expired, those never renewed
   * @param identities distinct identities holding live leases (plaintext callers are one)
   * @param expiredIdentities distinct identities among the expired leases that were renewed before
   */
  record LeaseCounts(
      int live, int expired, int expiredNeverRenewed, int identities, int expiredIdentities) {

    /**
     * Counts without identities or renewal history: every expired lease counts, all of one
     * identity.
     */
    public LeaseCounts(int live, int expired) {
      this(live, expired, 0, 1, expired > 0 ? 1 : 0);
    }
  }
}
