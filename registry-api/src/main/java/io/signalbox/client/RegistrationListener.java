package io.signalbox.client;

import io.grpc.Status;

/**
 * Observes what a {@link Registration} does in the background. Callbacks run on the client's single
 * scheduler thread: they must be quick and must not block.
 */
public interface RegistrationListener {

  RegistrationListener NONE = new RegistrationListener() {};

  /**
   * The lease was lost (expired, or the control plane forgot it) and the instance registered again.
   */
  default void onReregistered(String previousLeaseId, String newLeaseId) {}

  /** An attempt to register again failed; it is retried with backoff. */
  default void onReregistrationFailed(Status status) {}
}
