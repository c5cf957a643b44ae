package io.signalbox.xds;

import io.envoyproxy.controlplane.cache.v3.Snapshot;
import java.util.function.Function;

/**
 * The snapshot cache as the publisher writes it: a snapshot per node group, and the last good
 * configuration that resources an Envoy rejected are judged against ({@link XdsSnapshotCache}).
 */
public interface GroupSnapshotCache {

  /** What {@code group} was last set; null when nothing is. */
  Snapshot getSnapshot(String group);

  /** Sends {@code snapshot} to {@code group}'s Envoys. */
  void setSnapshot(String group, Snapshot snapshot);

  /** Forgets {@code group}'s snapshot; false (and nothing forgotten) while it has open watches. */
  boolean clearSnapshot(String group);

  /** The last good configuration's view for each group, made only when asked for. */
  void setLastGood(Function<String, Snapshot> views);
}
