package io.signalbox.client;

import io.grpc.Status;

/**
 * Observes what a {@link Registration} does in the background. Callbacks run on the client's single
 * scheduler thread: they must be quick and must not block.
 */
public interface RegistrationListener {

  /** Ignores every event; what {@link RegistryClient#register(ServiceRegistration)} uses. */
  RegistrationListener NONE = new RegistrationListener() {};

  /**
   * The lease was lost (expired, or the control plane forgot it) and the instance registered again.
   *
   * @param previousLeaseId the lease that was lost
   * @param newLeaseId the lease the instance holds now, as {@link Registration#leaseId()} tells
   */
  default void onReregistered(String previousLeaseId, String newLeaseId) {}

  /**
   * An attempt to register again failed; it is retried with backoff.
   *
   * @param status why: UNAVAILABLE or DEADLINE_EXCEEDED while the control plane cannot be reached,
   *     another code when it refused the registration
   */
  default void onReregistrationFailed(Status status) {}
}
