package io.signalbox.xds;

import com.google.common.collect.HashMultiset;
import com.google.common.collect.Multiset;

/**
 * The zones Envoys declare, bounded: Envoys name their own zones, and each zone makes node groups
 * of its own, each made a snapshot on every publication, so at most {@link NodeGroups#MAX_ZONES}
 * are kept at once. A zone counts while a group of it is kept, and while a stream's first request
 * naming it is being handled (from {@link #admit} to {@link #release}): a burst of first requests
 * naming new zones cannot all pass before their groups are made. A zone kept already, and no zone,
 * are always admitted.
 */
final class KeptZones implements ZoneAdmission {

  /** Each zone as often as it has groups kept. */
  private final Multiset<String> kept = HashMultiset.create();

  /** Each zone as often as a first request naming it is being handled. */
  private final Multiset<String> admitting = HashMultiset.create();

  @Override
  public synchronized boolean admit(String zone) {
    if (zone.isEmpty()) {
      return true;
    }
    if (!kept.contains(zone)
        && !admitting.contains(zone)
        && zonesCounted() >= NodeGroups.MAX_ZONES) {
      return false;
    }
    admitting.add(zone);
    return true;
  }

  @Override
  public synchronized void release(String zone) {
    if (!zone.isEmpty()) {
      admitting.remove(zone);
    }
  }

  synchronized void groupKept(String group) {
    NodeGroups.zone(group).ifPresent(kept::add);
  }

  synchronized void groupForgotten(String group) {
    NodeGroups.zone(group).ifPresent(kept::remove);
  }

  private int zonesCounted() {
    int counted = kept.elementSet().size();
    for (String zone : admitting.elementSet()) {
      if (!kept.contains(zone)) {
        counted++;
      }
    }
    return counted;
  }
}
