package io.signalbox.xds;

import com.google.protobuf.Message;
import io.envoyproxy.controlplane.cache.ResourceVersionResolver;
import io.envoyproxy.controlplane.cache.SnapshotResources;
import io.envoyproxy.controlplane.cache.VersionedResource;
import java.lang.ref.WeakReference;
import java.security.MessageDigest;
import java.util.AbstractMap;
import java.util.AbstractSet;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BiConsumer;
import java.util.function.Function;

/**
 * One type's resources of a {@link ContentVersionedSnapshot}, each versioned by a hash of its
 * content, the type by a hash of the sorted names and versions.
 *
 * <p>A resource that is the same object, under the same name, as in an earlier snapshot takes that
 * snapshot's version and digest input instead of being serialized and hashed again: with
 * translation by difference, a change to one service hashes that service's resources only. The
 * type's version is a digest of {@value #BUCKETS} buckets' digests, names falling into buckets by
 * their hash: a change digests again only the buckets of the names it changed. It depends only on
 * the content, never on the snapshots it was made from.
 *
 * <p>Made from the first earlier snapshot's resources by a merge of the two name-ordered lists, in
 * which kept resources are recognised by reference: a change does its map and hash work for the
 * names it changed only (at 10,000 resources, filling a new hash map of every name was most of the
 * cost of versioning a change). The resources are kept as arrays in name order, which the maps
 * handed out walk, and found by name through an index that shares all but the changed names with
 * the snapshot made before (java-control-plane's {@code SnapshotResources.create} copies every
 * resource into a new immutable map per snapshot; {@link NameIndex}). What changed from that
 * snapshot is known from the merge, so the cache's difference from it costs nothing more.
 */
final class ContentVersionedResources<T extends Message> extends SnapshotResources<T> {

  /**
   * A resource, its version, what it adds to the type's version, the bucket of its name, and the
   * digests of its parts that its next version may take ({@link ContentHash#of(Message, Map)}; null
   * for most types).
   */
  private record Entry<T extends Message>(
      VersionedResource<T> versioned,
      byte[] nameAndVersion,
      int bucket,
      Map<Message, byte[]> parts) {}

  /** How many buckets a type's names fall into for its version. */
  static final int BUCKETS = 256;

  private final List<T> sorted;

  /** The names, in order, and each one's entry; {@link #size} of each are used. */
  private final String[] names;

  private final Entry<T>[] entries;
  private final int size;

  /** Each name's entry. */
  private final NameIndex<Entry<T>> index;

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
  private final Object sameNamesToken;

  /**
   * The resources {@link #diff} compares with; guarded by this. Weak: a strong reference would
   * chain every snapshot's resources ever made to the newest.
   */
  private WeakReference<ContentVersionedResources<?>> diffedAgainst = new WeakReference<>(null);

  private ResourceDiff diff;

  private static final int MAX_SUBSET_VERSIONS = 64;
  private final Map<List<String>, String> subsetVersions = new ConcurrentHashMap<>();

  private ContentVersionedResources(
      List<T> sorted,
      String[] names,
      Entry<T>[] entries,
      int size,
      NameIndex<Entry<T>> index,
      byte[][] bucketDigests,
      Object sameNamesToken) {
    this.sorted = sorted;
    this.names = names;
    this.entries = entries;
    this.size = size;
    this.index = index;
    this.bucketDigests = bucketDigests;
    this.sameNamesToken = sameNamesToken;
    this.versionedResources = new NameOrderedView<>(this, Entry::versioned);
    this.resources = new NameOrderedView<>(this, entry -> entry.versioned().resource());
    this.version = version(bucketDigests);
  }

  /**
   * @param sorted the resources, sorted by name (as {@code XdsResources} keeps them); of equal
   *     names the last counts
   * @param earlier snapshots' resources of the same type whose versions may be taken
   */
  @SuppressWarnings("unchecked")
  static <T extends Message> ContentVersionedResources<T> of(
      List<T> sorted, Function<T, String> name, List<ContentVersionedResources<T>> earlier) {
    for (ContentVersionedResources<T> same : earlier) {
      // A type the change did not touch: the very same objects, so the very same versions.
      if (sameObjects(same.sorted, sorted)) {
        return same;
      }
    }
    // The buckets and the index are taken from the first earlier snapshot, but for the names that
    // changed, found by merging its names with these.
    ContentVersionedResources<T> base = earlier.isEmpty() ? null : earlier.get(0);
    int baseSize = base == null ? 0 : base.size;
    String[] names = new String[sorted.size()];
    Entry<T>[] entries = new Entry[sorted.size()];
    Map<String, Entry<T>> changedEntries = new HashMap<>();
    boolean[] changed = new boolean[BUCKETS];
    List<String> added = new ArrayList<>();
    List<String> modified = new ArrayList<>();
    List<String> removed = new ArrayList<>();
    boolean duplicates = false;
    int size = 0;
    int b = 0;
    for (T resource : sorted) {
      if (b < baseSize && base.entries[b].versioned().resource() == resource) {
        // Kept: the same object under the same name.
        names[size] = base.names[b];
        entries[size++] = base.entries[b++];
        continue;
      }
      String resourceName = name.apply(resource);
      while (b < baseSize && base.names[b].compareTo(resourceName) < 0) {
        removed.add(base.names[b]);
        changed[base.entries[b].bucket()] = true;
        b++;
      }
      Entry<T> inBase =
          b < baseSize && base.names[b].equals(resourceName) ? base.entries[b++] : null;
      Entry<T> entry =
          inBase != null && inBase.versioned().resource() == resource
              ? inBase
              : reused(resourceName, resource, earlier);
      if (entry == null) {
        ContentHash.Digest digest = ContentHash.of(resource, earlierParts(resourceName, earlier));
        entry =
            new Entry<>(
                VersionedResource.create(resource, digest.version()),
                ContentHash.nameAndVersion(resourceName, digest.version()),
                bucket(resourceName),
                digest.parts());
      }
      if (size > 0 && names[size - 1].compareTo(resourceName) >= 0) {
        // XdsResources sorts every list it holds; taken for a duplicate, a name out of order
        // would drop the resource before it.
        if (!names[size - 1].equals(resourceName)) {
          throw new IllegalStateException("resources out of name order at " + resourceName);
        }
        // Of equal names the last counts.
        duplicates = true;
        size--;
      }
      names[size] = resourceName;
      entries[size++] = entry;
      if (entry != inBase) {
        changed[entry.bucket()] = true;
        changedEntries.put(resourceName, entry);
        if (inBase == null) {
          added.add(resourceName);
        } else if (!inBase.versioned().version().equals(entry.versioned().version())) {
          modified.add(resourceName);
        }
      }
    }
    for (; b < baseSize; b++) {
      removed.add(base.names[b]);
      changed[base.entries[b].bucket()] = true;
    }
    if (base == null) {
      Arrays.fill(changed, true);
    }
    NameIndex<Entry<T>> index =
        base == null
            ? NameIndex.of(names, entries, size)
            : base.index.with(changedEntries, removed, names, entries, size);
    boolean sameNames = base != null && added.isEmpty() && removed.isEmpty() && !duplicates;
    ContentVersionedResources<T> made =
        new ContentVersionedResources<>(
            sorted,
            names,
            entries,
            size,
            index,
            bucketDigests(entries, size, changed, base),
            sameNames ? base.sameNamesToken : new Object());
    if (base != null && !duplicates) {
      synchronized (made) {
        made.diffedAgainst = new WeakReference<>(base);
        made.diff = new ResourceDiff(added, modified, removed);
      }
    }
    return made;
  }

  /**
   * The names added, modified and removed since {@code previous}; found once for the newest
   * previous resources asked about, and none for the very same resources.
   */
  synchronized ResourceDiff changesSince(ContentVersionedResources<?> previous) {
    ResourceDiff found = changesFoundSince(previous);
    if (found != null) {
      return found;
    }
    diff = ResourceDiff.between(previous.versionedResources(), versionedResources());
    diffedAgainst = new WeakReference<>(previous);
    return diff;
  }

  /**
   * What {@link #changesSince} found for {@code previous}, or null when it has not: a reader that
   * must not replace what the cache found for the pair it answers watches with.
   */
  synchronized ResourceDiff changesFoundSince(ContentVersionedResources<?> previous) {
    if (previous == this) {
      return ResourceDiff.NONE;
    }
    return diffedAgainst.get() == previous ? diff : null;
  }

  /**
   * The resources {@code map} is the name-ordered view of ({@link #versionedResources()}), or null
   * when it is another map.
   */
  static ContentVersionedResources<?> viewed(Map<?, ?> map) {
    return map instanceof NameOrderedView<?, ?> view ? view.resources : null;
  }

  /**
   * Whether {@code other} surely has the same names: it is this, or one was made from the other (as
   * its first earlier snapshot) with exactly its names, and so on. False says nothing.
   */
  boolean sameNames(ContentVersionedResources<T> other) {
    return sameNamesToken == other.sameNamesToken;
  }

  /** Digests the changed buckets, and takes the others. */
  private static <T extends Message> byte[][] bucketDigests(
      Entry<T>[] entries, int size, boolean[] changed, ContentVersionedResources<T> base) {
    MessageDigest[] digests = new MessageDigest[BUCKETS];
    for (int i = 0; i < size; i++) {
      int bucket = entries[i].bucket();
      if (changed[bucket]) {
        if (digests[bucket] == null) {
          digests[bucket] = ContentHash.sha256();
        }
        digests[bucket].update(entries[i].nameAndVersion());
      }
    }
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
      Entry<T> entry = snapshot.index.get(name);
      if (entry != null && entry.parts() != null) {
        return entry.parts();
      }
    }
    return null;
  }

  private static <T extends Message> Entry<T> reused(
      String name, T resource, List<ContentVersionedResources<T>> earlier) {
    for (ContentVersionedResources<T> snapshot : earlier) {
      Entry<T> entry = snapshot.index.get(name);
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
      // The names' shared list itself, when they come as one: a lookup by it then compares them
      // by identity, not name by name.
      subsetVersions.putIfAbsent(
          names instanceof RequestedNames shared ? shared : List.copyOf(names), computed);
    }
    return computed;
  }

  private String subsetVersion(List<String> names) {
    SortedMap<String, String> requested = new TreeMap<>();
    names.forEach(
        n -> {
          Entry<T> entry = index.get(n);
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

  /**
   * A map of the resources' entries, each seen through {@code view}: walked in name order over the
   * arrays, looked up through the index.
   */
  private static final class NameOrderedView<T extends Message, V> extends AbstractMap<String, V> {
    private final ContentVersionedResources<T> resources;
    private final Function<ContentVersionedResources.Entry<T>, V> view;

    NameOrderedView(
        ContentVersionedResources<T> resources,
        Function<ContentVersionedResources.Entry<T>, V> view) {
      this.resources = resources;
      this.view = view;
    }

    @Override
    public V get(Object name) {
      ContentVersionedResources.Entry<T> entry = resources.index.get(name);
      return entry == null ? null : view.apply(entry);
    }

    @Override
    public boolean containsKey(Object name) {
      return resources.index.get(name) != null;
    }

    @Override
    public int size() {
      return resources.size;
    }

    @Override
    public void forEach(BiConsumer<? super String, ? super V> action) {
      for (int i = 0; i < resources.size; i++) {
        action.accept(resources.names[i], view.apply(resources.entries[i]));
      }
    }

    @Override
    public Set<Map.Entry<String, V>> entrySet() {
      return new AbstractSet<>() {
        @Override
        public Iterator<Map.Entry<String, V>> iterator() {
          return new Iterator<>() {
            private int next;

            @Override
            public boolean hasNext() {
              return next < resources.size;
            }

            @Override
            public Map.Entry<String, V> next() {
              if (next >= resources.size) {
                throw new NoSuchElementException();
              }
              int i = next++;
              return new AbstractMap.SimpleImmutableEntry<>(
                  resources.names[i], view.apply(resources.entries[i]));
            }
          };
        }

        @Override
        public int size() {
          return resources.size;
        }
      };
    }
  }
}
