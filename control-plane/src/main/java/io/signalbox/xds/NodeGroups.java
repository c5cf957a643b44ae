package io.signalbox.xds;

import io.envoyproxy.controlplane.cache.NodeGroup;
import io.envoyproxy.envoy.config.core.v3.Node;

/**
 * Envoys are grouped by {@code node.cluster} (the bootstrap's {@code --service-cluster}): every
 * Envoy of a group is sent the same snapshot, whatever its node id, so a fleet scales without a
 * snapshot per proxy.
 */
public final class NodeGroups implements NodeGroup<String> {

  /** The group of an Envoy that names no cluster. */
  public static final String DEFAULT_GROUP = "default";

  @Override
  public String hash(Node node) {
    return node == null || node.getCluster().isEmpty() ? DEFAULT_GROUP : node.getCluster();
  }
}
