package io.signalbox.store;

/**
 * The shared store (etcd) did not answer in time: nothing was changed, and the caller may try
 * again. The registry API answers UNAVAILABLE; what is already registered keeps being served from
 * memory.
 */
public final class StoreUnavailableException extends RuntimeException {

  public StoreUnavailableException(String message, Throwable cause) {
    super(message, cause);
  }
}
