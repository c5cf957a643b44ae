package io.signalbox.client;

import io.grpc.Status;

/**
 * The control plane refused a registration (INVALID_ARGUMENT, ALREADY_EXISTS, ...) or could not be
 * reached in time (UNAVAILABLE, DEADLINE_EXCEEDED). {@link #status()} carries the gRPC status and
 * its description, which names the offending field.
 */
public final class RegistrationException extends RuntimeException {

  private final transient Status status;

  RegistrationException(String message, Status status, Throwable cause) {
    super(message + " (" + Statuses.describe(status) + ")", cause);
    this.status = status;
  }

  /** The gRPC status of the failed call (the last attempt when retried), with its description. */
  public Status status() {
    return status;
  }
}
