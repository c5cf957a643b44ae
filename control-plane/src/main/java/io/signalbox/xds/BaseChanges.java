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

  /**
   * By the two maps, each compared by identity (content equality would cost a walk) and held
   * weakly: a pair is kept while both snapshots are, and no longer (streams that have not
   * acknowledged yet keep their old base alive, and with it the pair).
   */
  private final Cache<Object, Cache<Object, List<String>>> changes =
      CacheBuilder.newBuilder().weakKeys().build();

  List<String> between(
      Map<String, ? extends VersionedResource<?>> from,
      Map<String, ? extends VersionedResource<?>> to) {
    if (from == to) {
      // A stream answering a response of the snapshot it already holds: every ACK but the first
      // after a change.
      return List.of();
    }
    try {
      return changes
          .get(from, () -> CacheBuilder.newBuilder().weakKeys().<Object, List<String>>build())
          .get(to, () -> compare(from, to));
    } catch (ExecutionException e) {
      throw new IllegalStateException(e.getCause());
    }
  }

  private static List<String> compare(
      Map<String, ? extends VersionedResource<?>> from,
      Map<String, ? extends VersionedResource<?>> to) {
    ContentVersionedResources<?> older = ContentVersionedResources.viewed(from);
    ContentVersionedResources<?> newer = ContentVersionedResources.viewed(to);
    // Two snapshots' resources: the difference the cache found to answer the group's watches,
    // found once for both. Another pair (a stream moving from an older base) is compared here, and
    // leaves the cache's alone.
    ResourceDiff found = older != null && newer != null ? newer.changesFoundSince(older) : null;
    ResourceDiff diff = found != null ? found : ResourceDiff.between(from, to);
    List<String> names =
        new ArrayList<>(diff.added().size() + diff.modified().size() + diff.removed().size());
    names.addAll(diff.added());
    names.addAll(diff.modified());
    names.addAll(diff.removed());
    return List.copyOf(names);
  }
}
