package io.signalbox.store;

/**
 * A caller asked to register, renew or deregister an instance whose lease another identity holds.
 * The message names the instance, never the lease id.
 */
public final class NotLeaseOwnerException extends RuntimeException {

  public NotLeaseOwnerException(String message) {
    super(message);
  }

  /** The instance (service, instance id) is live under a lease another identity holds. */
  static NotLeaseOwnerException instance(String service, String instanceId) {
    return new NotLeaseOwnerException(
        "instance " + service + "/" + instanceId + " is registered by another identity");
  }

  /**
   * Whether a lease registered by {@code owner} is another identity's for {@code caller}: only when
   * both are identities (non-empty) and differ. A lease registered by nobody in particular may be
   * adopted by anyone, and an empty caller (a plaintext control plane, where nobody is
   * authenticated) may do anything.
   */
  static boolean ownedByAnother(String owner, String caller) {
    return !owner.isEmpty() && !caller.isEmpty() && !owner.equals(caller);
  }
}
