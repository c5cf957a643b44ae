package io.signalbox.xds;

import com.google.common.collect.HashMultiset;
import com.google.common.collect.Multiset;
import java.util.Optional;

/**
 * The zones Envoys declare, bounded: Envoys name their own zones, and each zone makes a node group
 * of its fleet, made a snapshot on every publication. So a fleet's Envoys span at most {@link
 * NodeGroups#MAX_ZONES_PER_FLEET} zones, and all fleets' at most {@link NodeGroups#MAX_ZONES}: a
 * peer allowed one fleet cannot take every other fleet's zones by naming new ones. A fleet's zone
 * counts while its group is kept, and while a stream's first request naming it is being handled
 * (from {@link #admit} to {@link #release}): a burst of first requests naming new zones cannot all
 * pass before their groups are made. A zone a fleet holds already, and no zone, are always
 * admitted.
 */
final class KeptZones implements ZoneAdmission {

  /** A fleet in a zone: one node group. */
  private record FleetZone(String fleet, String zone) {}

  /** Each fleet's zone as often as its group is kept and a first request naming it is handled. */
  private final Multiset<FleetZone> counted = HashMultiset.create();

  /** Each fleet as often as it has zones counted. */
  private final Multiset<String> zonesOfFleet = HashMultiset.create();

  /** Each zone as often as fleets have it counted. */
  private final Multiset<String> fleetsInZone = HashMultiset.create();

  @Override
  public synchronized Optional<String> admit(String fleet, String zone) {
    if (zone.isEmpty()) {
      return Optional.empty();
    }
    FleetZone fleetZone = new FleetZone(fleet, zone);
    if (!counted.contains(fleetZone)) {
      if (zonesOfFleet.count(fleet) >= NodeGroups.MAX_ZONES_PER_FLEET) {
        return Optional.of(
            "node.locality.zone: the Envoys of fleet '"
                + fleet
                + "' span "
                + NodeGroups.MAX_ZONES_PER_FLEET
                + " zones, the most Signalbox keeps for one fleet; zone '"
                + zone
                + "' is not taken");
      }
      if (!fleetsInZone.contains(zone)
          && fleetsInZone.elementSet().size() >= NodeGroups.MAX_ZONES) {
        return Optional.of(
            "node.locality.zone: the node groups kept span "
                + NodeGroups.MAX_ZONES
                + " zones, the most Signalbox keeps; zone '"
                + zone
                + "' is not taken");
      }
    }
    count(fleetZone);
    return Optional.empty();
  }

  @Override
  public synchronized void release(String fleet, String zone) {
    if (!zone.isEmpty()) {
      uncount(new FleetZone(fleet, zone));
    }
  }

  synchronized void groupKept(String group) {
    NodeGroups.zone(group).ifPresent(zone -> count(new FleetZone(NodeGroups.fleetOf(group), zone)));
  }

  synchronized void groupForgotten(String group) {
    NodeGroups.zone(group)
        .ifPresent(zone -> uncount(new FleetZone(NodeGroups.fleetOf(group), zone)));
  }

  private void count(FleetZone fleetZone) {
    if (counted.add(fleetZone, 1) == 0) {
      zonesOfFleet.add(fleetZone.fleet());
      fleetsInZone.add(fleetZone.zone());
    }
  }

  private void uncount(FleetZone fleetZone) {
    if (counted.remove(fleetZone, 1) == 1) {
      zonesOfFleet.remove(fleetZone.fleet());
      fleetsInZone.remove(fleetZone.zone());
    }
  }
}
