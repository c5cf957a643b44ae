package io.signalbox.xds;

import com.google.common.collect.Maps;
import com.google.protobuf.Message;
import io.envoyproxy.controlplane.cache.ResourceVersionResolver;
import io.envoyproxy.controlplane.cache.SnapshotResources;
import io.envoyproxy.controlplane.cache.VersionedResource;
import java.security.MessageDigest;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

/**
 * One type's resources of a {@link ContentVersionedSnapshot}, each versioned by a hash of its
 * content, the type by a hash of the sorted names and versions.
 *
 * <p>A resource that is the same object, under the same name, as in an earlier snapshot takes that
 * snapshot's version and digest input instead of being serialized and hashed again: with
 * translation by difference, a change to one service hashes that service's resources only. The maps
 * are this class's own (java-control-plane's {@code SnapshotResources.create} copies every resource
 * into a new immutable map per snapshot), in name order.
 */
final class ContentVersionedResources<T extends Message> extends SnapshotResources<T> {

  /** A resource, its version, and what it adds to the type's version. */
  private record Entry<T extends Message>(VersionedResource<T> versioned, byte[] nameAndVersion) {}

  private final List<T> sorted;
  private final Map<String, Entry<T>> byName;
  private final Map<String, VersionedResource<T>> versionedResources;
  private final Map<String, T> resources;
  private final String version;

  private static final int MAX_SUBSET_VERSIONS = 64;
  private final Map<List<String>, String> subsetVersions = new ConcurrentHashMap<>();

  private ContentVersionedResources(List<T> sorted, Map<String, Entry<T>> byName, String version) {
    this.sorted = sorted;
    this.byName = byName;
    this.versionedResources =
        Collections.unmodifiableMap(Maps.transformValues(byName, Entry::versioned));
    this.resources =
        Collections.unmodifiableMap(Maps.transformValues(byName, e -> e.versioned().resource()));
    this.version = version;
  }

  /**
   * @param sorted the resources, sorted by name (as {@code XdsResources} keeps them)
   * @param earlier snapshots' resources of the same type whose versions may be taken
   */
  static <T extends Message> ContentVersionedResources<T> of(
      List<T> sorted, Function<T, String> name, List<ContentVersionedResources<T>> earlier) {
    for (ContentVersionedResources<T> same : earlier) {
      // A type the change did not touch: the very same objects, so the very same versions.
      if (sameObjects(same.sorted, sorted)) {
        return same;
      }
    }
    Map<String, Entry<T>> byName = new LinkedHashMap<>(sorted.size() * 2);
    MessageDigest typeDigest = ContentHash.sha256();
    for (int i = 0; i < sorted.size(); i++) {
      T resource = sorted.get(i);
      String resourceName = name.apply(resource);
      Entry<T> entry = reused(resourceName, resource, earlier);
      if (entry == null) {
        String resourceVersion = ContentHash.of(resource);
        entry =
            new Entry<>(
                VersionedResource.create(resource, resourceVersion),
                ContentHash.nameAndVersion(resourceName, resourceVersion));
      }
      byName.put(resourceName, entry);
      // Of equal names the last counts, as in a map from names to versions.
      boolean supersededByNext =
          i + 1 < sorted.size() && name.apply(sorted.get(i + 1)).equals(resourceName);
      if (!supersededByNext) {
        typeDigest.update(entry.nameAndVersion());
      }
    }
    return new ContentVersionedResources<>(sorted, byName, ContentHash.hex(typeDigest.digest()));
  }

  private static boolean sameObjects(List<?> a, List<?> b) {
    if (a.size() != b.size()) {
      return false;
    }
    for (int i = 0; i < a.size(); i++) {
      if (a.get(i) != b.get(i)) {
        return false;
      }
    }
    return true;
  }

  private static <T extends Message> Entry<T> reused(
      String name, T resource, List<ContentVersionedResources<T>> earlier) {
    for (ContentVersionedResources<T> snapshot : earlier) {
      Entry<T> entry = snapshot.byName.get(name);
      if (entry != null && entry.versioned().resource() == resource) {
        return entry;
      }
    }
    return null;
  }

  @Override
  public Map<String, VersionedResource<T>> versionedResources() {
    return versionedResources;
  }

  @Override
  public Map<String, T> resources() {
    return resources;
  }

  @Override
  public String version() {
    return version;
  }

  /**
   * For requests naming resources (SotW EDS and RDS): a version of just the named ones. A fleet
   * asks for the same names on every stream, and the cache asks this once per stream on every
   * change: each list is hashed once (a handful of lists are kept; more are hashed every time).
   */
  @Override
  public String version(List<String> names) {
    if (names.isEmpty()) {
      return version;
    }
    String known = subsetVersions.get(names);
    if (known != null) {
      return known;
    }
    String computed = subsetVersion(names);
    if (subsetVersions.size() < MAX_SUBSET_VERSIONS) {
      subsetVersions.putIfAbsent(List.copyOf(names), computed);
    }
    return computed;
  }

  private String subsetVersion(List<String> names) {
    SortedMap<String, String> requested = new TreeMap<>();
    names.forEach(
        n -> {
          Entry<T> entry = byName.get(n);
          requested.put(n, entry == null ? "" : entry.versioned().version());
        });
    return ContentHash.ofVersions(requested);
  }

  @Override
  public ResourceVersionResolver resourceVersionResolver() {
    return this::version;
  }
}
