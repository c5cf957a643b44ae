package io.signalbox.xds;

import java.util.Optional;

/**
 * Whether an xDS stream's Envoy may declare a zone: zones are named by Envoys, so the control plane
 * keeps a bounded number of them, for each fleet and in all ({@link KeptZones}).
 */
public interface ZoneAdmission {

  /**
   * Whether a stream of {@code fleet} whose first request names {@code zone} may go on: empty when
   * it may (the zone then counts for the fleet until {@link #release}, by when the request has made
   * its group, or failed), else why not, naming the field.
   */
  Optional<String> admit(String fleet, String zone);

  /** The first request {@link #admit} let through has been handled. */
  void release(String fleet, String zone);
}
