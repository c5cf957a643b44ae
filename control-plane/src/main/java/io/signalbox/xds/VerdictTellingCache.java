package io.signalbox.xds;

import io.envoyproxy.controlplane.cache.v3.Snapshot;
import java.util.function.Function;

/**
 * The cache the pipeline writes to, telling the quarantine's fleet which group it sent a new
 * snapshot ({@link NackQuarantine.Fleet#groupSent}): the fleet's verdict judges only the Envoys
 * whose records or groups changed since the last, and every write to a group passes here.
 */
record VerdictTellingCache(GroupSnapshotCache cache, NackQuarantine.Fleet fleet)
    implements GroupSnapshotCache {

  @Override
  public Snapshot getSnapshot(String group) {
    return cache.getSnapshot(group);
  }

  @Override
  public void setSnapshot(String group, Snapshot snapshot) {
    cache.setSnapshot(group, snapshot);
    fleet.groupSent(group);
  }

  @Override
  public boolean clearSnapshot(String group) {
    return cache.clearSnapshot(group);
  }

  @Override
  public void setLastGood(Function<String, Snapshot> views) {
    cache.setLastGood(views);
  }
}
