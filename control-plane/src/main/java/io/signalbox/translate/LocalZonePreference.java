package io.signalbox.translate;

import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import java.util.ArrayList;
import java.util.List;

/**
 * Zone-aware routing by priority, as Istio's locality failover: an Envoy that declares a zone is
 * sent the endpoints of services that prefer the local zone with its own zone's instances at
 * priority 0 and every other instance at priority 1. Envoy then sends requests out of the zone only
 * when too few local instances are healthy (its overprovisioning factor of 1.4: below about 72 %,
 * the rest spills over in proportion), and all of them when none is.
 *
 * <p>Envoy's own zone-aware balancer was not chosen: it needs the calling fleet's members as a
 * static local cluster in every bootstrap, which an edge gateway fleet that does not register
 * itself cannot provide. Priorities need nothing from the bootstrap but the zone.
 */
public final class LocalZonePreference {

  private LocalZonePreference() {}

  /**
   * What an Envoy in {@code zone} is sent: {@code fleet}, with the assignments of its local-zone
   * clusters ordered by zone; {@code fleet} itself when nothing changes.
   */
  public static XdsResources forZone(XdsResources fleet, String zone) {
    if (fleet.localZoneClusters().isEmpty() || zone.isEmpty()) {
      return fleet;
    }
    List<ClusterLoadAssignment> endpoints = new ArrayList<>(fleet.endpoints().size());
    boolean changed = false;
    for (ClusterLoadAssignment assignment : fleet.endpoints()) {
      ClusterLoadAssignment seen =
          fleet.localZoneClusters().contains(assignment.getClusterName())
              ? localFirst(assignment, zone)
              : assignment;
      changed |= seen != assignment;
      endpoints.add(seen);
    }
    return changed ? fleet.withEndpoints(endpoints) : fleet;
  }

  /**
   * The assignment with {@code zone}'s localities at priority 0 and the others at 1; unchanged when
   * the zone has no instance (all stay equal rather than leaving priority 0 empty) or has them all.
   */
  static ClusterLoadAssignment localFirst(ClusterLoadAssignment assignment, String zone) {
    boolean local = false;
    boolean remote = false;
    for (LocalityLbEndpoints locality : assignment.getEndpointsList()) {
      if (locality.getLocality().getZone().equals(zone)) {
        local = true;
      } else {
        remote = true;
      }
    }
    if (!local || !remote) {
      return assignment;
    }
    ClusterLoadAssignment.Builder ordered = assignment.toBuilder();
    for (int i = 0; i < ordered.getEndpointsCount(); i++) {
      if (!ordered.getEndpoints(i).getLocality().getZone().equals(zone)) {
        ordered.setEndpoints(i, ordered.getEndpoints(i).toBuilder().setPriority(1));
      }
    }
    return ordered.build();
  }
}
