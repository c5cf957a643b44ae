package io.signalbox.xds;

/**
 * Whether an xDS stream's Envoy may declare a zone: zones are named by Envoys, so the control plane
 * keeps a bounded number ({@link KeptZones}).
 */
public interface ZoneAdmission {

  /**
   * Whether a stream whose first request names {@code zone} may go on; when it may, the zone counts
   * until {@link #release} (by then the request has made its group, or failed).
   */
  boolean admit(String zone);

  /** The first request {@link #admit} let through has been handled. */
  void release(String zone);
}
