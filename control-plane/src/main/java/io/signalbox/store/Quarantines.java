package io.signalbox.store;

import io.signalbox.model.ServiceState;

/**
 * How the pipeline withholds a service whose configuration Envoy rejected (see {@code
 * xds.NackQuarantine}).
 */
public interface Quarantines {

  /**
   * Withholds a service from {@link RegistryStore#servedState()} until it registers with a
   * different state, all its instances are gone, or an operator releases it ({@link
   * RegistryAdmin#releaseQuarantine}).
   *
   * @param rejected the state Envoy rejected
   * @param rejectedRevision the registry revision that state was read from
   * @return false, changing nothing, when the service is gone or a registration has changed it
   *     since {@code rejectedRevision}: the new registration deserves its own chance
   */
  boolean quarantine(String service, ServiceState rejected, long rejectedRevision, String reason);
}
