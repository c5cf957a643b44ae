package io.signalbox.registry;

/**
 * A host name could not be resolved in time: not the caller's fault, so UNAVAILABLE (clients
 * retry).
 */
public final class HostResolutionUnavailableException extends RuntimeException {
  public HostResolutionUnavailableException(String message) {
    super(message);
  }
}
