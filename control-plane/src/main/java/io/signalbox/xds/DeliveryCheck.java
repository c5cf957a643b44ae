package io.signalbox.xds;

import io.envoyproxy.controlplane.cache.Resources.ResourceType;
import java.util.Set;

/**
 * Whether a node group's Envoys have applied a type of a snapshot (see {@link
 * ProxyStatusTracker#applied}), or been delivered it in order ({@link
 * ProxyStatusTracker#delivered}).
 */
@FunctionalInterface
public interface DeliveryCheck {

  /**
   * Never waits: for publishers without Envoys to watch, such as in tests of the pipeline alone.
   */
  DeliveryCheck ASSUME_APPLIED = (group, type, required, snapshot) -> true;

  boolean applied(
      String group, ResourceType type, Set<String> required, ContentVersionedSnapshot snapshot);

  /**
   * Whether the Envoys have applied it, or were sent it on their streams in answer to asking for it
   * ({@link MakeBeforeBreak.Until#DELIVERED}); without a record of writes, whether they applied it.
   */
  default boolean delivered(
      String group, ResourceType type, Set<String> required, ContentVersionedSnapshot snapshot) {
    return applied(group, type, required, snapshot);
  }
}
