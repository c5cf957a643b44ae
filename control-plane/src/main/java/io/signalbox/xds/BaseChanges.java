package io.signalbox.xds;

import com.google.common.cache.Cache;
import com.google.common.cache.CacheBuilder;
import io.envoyproxy.controlplane.cache.VersionedResource;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;

/**
 * The names whose version differs between two snapshots' resources of a type, found once per pair
 * of maps: every delta stream of a node group moves its {@link TrackedVersions} between the same
 * two bases, and each would otherwise compare the whole type.
 */
final class BaseChanges {

  /** A pair of maps, equal only to the same two objects: content equality would cost a walk. */
  private record Pair(Object from, Object to) {
    @Override
    public boolean equals(Object other) {
      return other instanceof Pair pair && pair.from == from && pair.to == to;
    }

    @Override
    public int hashCode() {
      return 31 * System.identityHashCode(from) + System.identityHashCode(to);
    }
  }

  /**
   * A few pairs per group and type are in use at once (streams that have not acknowledged yet stay
   * one base behind); the bound keeps old maps from being held.
   */
  private final Cache<Pair, List<String>> changes =
      CacheBuilder.newBuilder().maximumSize(256).build();

  List<String> between(
      Map<String, ? extends VersionedResource<?>> from,
      Map<String, ? extends VersionedResource<?>> to) {
    try {
      return changes.get(new Pair(from, to), () -> compare(from, to));
    } catch (ExecutionException e) {
      throw new IllegalStateException(e.getCause());
    }
  }

  private static List<String> compare(
      Map<String, ? extends VersionedResource<?>> from,
      Map<String, ? extends VersionedResource<?>> to) {
    ResourceDiff diff = ResourceDiff.between(from, to);
    List<String> names =
        new ArrayList<>(diff.added().size() + diff.modified().size() + diff.removed().size());
    names.addAll(diff.added());
    names.addAll(diff.modified());
    names.addAll(diff.removed());
    return List.copyOf(names);
  }
}
