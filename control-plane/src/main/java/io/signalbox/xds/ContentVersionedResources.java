package io.signalbox.xds;

import com.google.common.collect.Maps;
import com.google.protobuf.Message;
import io.envoyproxy.controlplane.cache.ResourceVersionResolver;
import io.envoyproxy.controlplane.cache.SnapshotResources;
import io.envoyproxy.controlplane.cache.VersionedResource;
import java.lang.ref.WeakReference;
import java.security.MessageDigest;
import java.util.Arrays;
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
 * translation by difference, a change to one service hashes that service's resources only. The
 * type's version is a digest of {@value #BUCKETS} buckets' digests, names falling into buckets by
 * their hash: a change digests again only the buckets of the names it changed, so a new version
 * costs a walk over the names but no longer a digest of all of them (at 10,000 resources that
 * digest was most of the cost of versioning a change). It depends only on the content, never on the
 * snapshots it was made from. The maps are this class's own (java-control-plane's {@code
 * SnapshotResources.create} copies every resource into a new immutable map per snapshot), in name
 * order.
 */
final class ContentVersionedResources<T extends Message> extends SnapshotResources<T> {

  /**
   * A resource, its version, what it adds to the type's version, and the digests of its parts that
   * its next version may take ({@link ContentHash#of(Message, Map)}; null for most types).
   */
  private record Entry<T extends Message>(
      VersionedResource<T> versioned, byte[] nameAndVersion, Map<Message, byte[]> parts) {}

  /** How many buckets a type's names fall into for its version. */
  static final int BUCKETS = 256;

  private final List<T> sorted;
  private final Map<String, Entry<T>> byName;

  /** Each bucket's digest of its names and versions, in name order; null for an empty bucket. */
  private final byte[][] bucketDigests;

  private final Map<String, VersionedResource<T>> versionedResources;
  private final Map<String, T> resources;
  private final String version;

  /**
   * The same object for resources of the same names, as far as it is known at no cost: taken from
   * the first earlier snapshot when this one has exactly its names (a token, not the snapshot, so
   * that no snapshot holds on to the one before it).
   */
  private final Object names;

  /**
   * The resources {@link #diff} compares with; guarded by this. Weak: a strong reference would
   * chain every snapshot's resources ever made to the newest.
   */
  private WeakReference<ContentVersionedResources<?>> diffedAgainst = new WeakReference<>(null);

  private ResourceDiff diff;

  private static final int MAX_SUBSET_VERSIONS = 64;
  private final Map<List<String>, String> subsetVersions = new ConcurrentHashMap<>();

  private ContentVersionedResources(
      List<T> sorted, Map<String, Entry<T>> byName, byte[][] bucketDigests, Object names) {
    this.names = names;
    this.sorted = sorted;
    this.byName = byName;
    this.bucketDigests = bucketDigests;
    this.versionedResources =
        Collections.unmodifiableMap(Maps.transformValues(byName, Entry::versioned));
    this.resources =
        Collections.unmodifiableMap(Maps.transformValues(byName, e -> e.versioned().resource()));
    this.version = version(bucketDigests);
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
    // The buckets are taken from the first earlier snapshot, except those a name changed in.
    ContentVersionedResources<T> base = earlier.isEmpty() ? null : earlier.get(0);
    boolean[] changed = new boolean[BUCKETS];
    int namesInBase = 0;
    for (int i = 0; i < sorted.size(); i++) {
      T resource = sorted.get(i);
      String resourceName = name.apply(resource);
      Entry<T> inBase = base == null ? null : base.byName.get(resourceName);
      Entry<T> entry = reused(resourceName, resource, earlier);
      if (entry == null) {
        ContentHash.Digest digest = ContentHash.of(resource, earlierParts(resourceName, earlier));
        entry =
            new Entry<>(
                VersionedResource.create(resource, digest.version()),
                ContentHash.nameAndVersion(resourceName, digest.version()),
                digest.parts());
      }
      Entry<T> before = byName.put(resourceName, entry);
      if (before == null && inBase != null) {
        namesInBase++;
      }
      if (before != null || inBase != entry) {
        changed[bucket(resourceName)] = true;
      }
    }
    if (base == null) {
      Arrays.fill(changed, true);
    } else if (namesInBase < base.byName.size()) {
      // Some names went: their buckets change too.
      for (String gone : base.byName.keySet()) {
        if (!byName.containsKey(gone)) {
          changed[bucket(gone)] = true;
        }
      }
    }
    boolean namesOfBase =
        base != null && namesInBase == byName.size() && namesInBase == base.byName.size();
    return new ContentVersionedResources<>(
        sorted,
        byName,
        bucketDigests(byName, changed, base),
        namesOfBase ? base.names : new Object());
  }

  /**
   * The names added, modified and removed since {@code previous}; found once for the newest
   * previous resources asked about, and none for the very same resources.
   */
  synchronized ResourceDiff changesSince(ContentVersionedResources<?> previous) {
    if (previous == this) {
      return ResourceDiff.NONE;
    }
    if (diffedAgainst.get() != previous) {
      diff = ResourceDiff.between(previous.versionedResources(), versionedResources());
      diffedAgainst = new WeakReference<>(previous);
    }
    return diff;
  }

  /**
   * Whether {@code other} surely has the same names: it is this, or one was made from the other (as
   * its first earlier snapshot) with exactly its names, and so on. False says nothing.
   */
  boolean sameNames(ContentVersionedResources<T> other) {
    return names == other.names;
  }

  /** Digests the changed buckets (of equal names the last counts), and takes the others. */
  private static <T extends Message> byte[][] bucketDigests(
      Map<String, Entry<T>> byName, boolean[] changed, ContentVersionedResources<T> base) {
    MessageDigest[] digests = new MessageDigest[BUCKETS];
    byName.forEach(
        (resourceName, entry) -> {
          int bucket = bucket(resourceName);
          if (changed[bucket]) {
            if (digests[bucket] == null) {
              digests[bucket] = ContentHash.sha256();
            }
            digests[bucket].update(entry.nameAndVersion());
          }
        });
    byte[][] buckets = new byte[BUCKETS][];
    for (int bucket = 0; bucket < BUCKETS; bucket++) {
      if (!changed[bucket]) {
        buckets[bucket] = base.bucketDigests[bucket];
      } else if (digests[bucket] != null) {
        buckets[bucket] = digests[bucket].digest();
      }
    }
    return buckets;
  }

  /** The type's version: the non-empty buckets' digests, each after its number, in order. */
  private static String version(byte[][] bucketDigests) {
    MessageDigest typeDigest = ContentHash.sha256();
    for (int bucket = 0; bucket < BUCKETS; bucket++) {
      if (bucketDigests[bucket] != null) {
        typeDigest.update((byte) bucket);
        typeDigest.update(bucketDigests[bucket]);
      }
    }
    return ContentHash.hex(typeDigest.digest());
  }

  /** By the name's {@code String.hashCode}, which Java specifies: the same in every JVM. */
  private static int bucket(String name) {
    int hash = name.hashCode();
    return (hash ^ (hash >>> 16)) & (BUCKETS - 1);
  }

  private static boolean sameObjects(List<?> a, List<?> b) {
    if (a == b) {
      return true;
    }
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

  /**
   * The digested parts of the resource's earlier version, from the first earlier snapshot that has
   * one: not always the first snapshot (a sidecar's outbound routes, 10,000 virtual hosts at 10,000
   * services, are not in the fleet's snapshot its own is made from, and were digested whole for
   * every change).
   */
  private static <T extends Message> Map<Message, byte[]> earlierParts(
      String name, List<ContentVersionedResources<T>> earlier) {
    for (ContentVersionedResources<T> snapshot : earlier) {
      Entry<T> entry = snapshot.byName.get(name);
      if (entry != null && entry.parts() != null) {
        return entry.parts();
      }
    }
    return null;
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
    // Digested as the type's version is, so that naming every resource gives the type's version.
    MessageDigest[] digests = new MessageDigest[BUCKETS];
    requested.forEach(
        (n, v) -> {
          int bucket = bucket(n);
          if (digests[bucket] == null) {
            digests[bucket] = ContentHash.sha256();
          }
          digests[bucket].update(ContentHash.nameAndVersion(n, v));
        });
    byte[][] buckets = new byte[BUCKETS][];
    for (int bucket = 0; bucket < BUCKETS; bucket++) {
      buckets[bucket] = digests[bucket] == null ? null : digests[bucket].digest();
    }
    return version(buckets);
  }

  @Override
  public ResourceVersionResolver resourceVersionResolver() {
    return this::version;
  }
}
