package io.signalbox.client;

import java.time.Duration;
import java.util.function.Consumer;

/**
 * The handle of one registered instance. While open, its lease is kept alive in the background and
 * the instance re-registers by itself whenever the control plane lost it. {@link #close()}
 * deregisters.
 */
public final class Registration implements AutoCloseable {

  private final ServiceRegistration registration;
  private final LeaseKeeper keeper;
  private final Consumer<Registration> onClose;

  Registration(
      ServiceRegistration registration, LeaseKeeper keeper, Consumer<Registration> onClose) {
    this.registration = registration;
    this.keeper = keeper;
    this.onClose = onClose;
  }

  /** What was registered; the same for every lease of this handle. */
  public ServiceRegistration registration() {
    return registration;
  }

  /** The current lease; it changes when the instance had to register again. */
  public String leaseId() {
    return keeper.lease().id();
  }

  /** The TTL the control plane granted for the current lease. */
  public Duration ttl() {
    return keeper.lease().ttl();
  }

  /**
   * Reports the instance's own health: {@code false} (NOT_SERVING) keeps the instance registered
   * but has Envoy send it no new requests, e.g. while it warms up, or drains before it stops;
   * {@code true} takes it back. The status holds across re-registrations.
   *
   * @throws RegistrationException when the control plane cannot be told
   */
  public void setServing(boolean serving) {
    keeper.setServing(serving);
  }

  /** Whether the lease is still kept alive: false once {@link #close()} was called. */
  public boolean isOpen() {
    return !keeper.isStopped();
  }

  /**
   * Stops keeping the lease alive and deregisters the instance, waiting at most about two seconds
   * for the control plane: if it cannot be reached the lease simply expires. Idempotent.
   */
  @Override
  public void close() {
    if (keeper.stopAndDeregister()) {
      onClose.accept(this);
    }
  }

  @Override
  public String toString() {
    return "Registration{"
        + registration
        + ", "
        // The lease id is a credential: only its fingerprint is printed.
        + keeper.lease()
        + (isOpen() ? "" : ", closed")
        + "}";
  }
}
