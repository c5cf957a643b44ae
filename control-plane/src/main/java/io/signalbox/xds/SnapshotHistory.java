package io.signalbox.xds;

import io.envoyproxy.controlplane.cache.Resources.ResourceType;
import io.envoyproxy.controlplane.cache.VersionedResource;
import io.signalbox.envoy.XdsTypes;
import io.signalbox.model.RegistryState;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.TreeSet;
import org.pcollections.PSortedMap;
import org.pcollections.TreePMap;

/**
 * The last published snapshots, newest first: their resource versions (enough to diff any two of
 * them), what each changed, and the services whose registry state changed since the one before,
 * i.e. the registrations that caused it.
 *
 * <p>Bounded: the oldest entry goes once {@code capacity} are kept. An entry holds resource names
 * and versions, not resources, and shares a type's name-to-version map with the entry before
 * whenever that type did not change. Recording runs on the pipeline thread and costs one pass over
 * the types that changed.
 */
public final class SnapshotHistory {

  public static final int DEFAULT_CAPACITY = 100;

  private final int capacity;
  private final Deque<Entry> entries = new ArrayDeque<>();

  /** The snapshot of the newest entry: the next one is compared with it. */
  private ContentVersionedSnapshot lastRecorded;

  public SnapshotHistory(int capacity) {
    if (capacity < 1) {
      throw new IllegalArgumentException("capacity must be at least 1, was " + capacity);
    }
    this.capacity = capacity;
  }

  public enum ServiceChange {
    ADDED,
    REMOVED,
    MODIFIED
  }

  /** Names added, removed and modified in one resource type, each sorted. */
  public record TypeChanges(List<String> added, List<String> removed, List<String> modified) {
    public TypeChanges {
      added = List.copyOf(added);
      removed = List.copyOf(removed);
      modified = List.copyOf(modified);
    }

    public boolean isEmpty() {
      return added.isEmpty() && removed.isEmpty() && modified.isEmpty();
    }
  }

  /**
   * One published snapshot.
   *
   * @param changes by short type name ({@link XdsTypes}), only types that changed
   * @param services the services whose state changed since the entry before, by name
   * @param changedBy what last changed each of those services and who ({@link
   *     RegistryState#changedBy()})
   * @param resourceVersions by short type name, then resource name
   * @param initial the first snapshot published, with nothing before it
   */
  public record Entry(
      String version,
      Instant publishedAt,
      long registryRevision,
      boolean initial,
      boolean settingsChanged,
      SortedMap<String, TypeChanges> changes,
      SortedMap<String, ServiceChange> services,
      SortedMap<String, String> changedBy,
      Map<String, String> typeVersions,
      Map<String, SortedMap<String, String>> resourceVersions) {}

  /**
   * Records a snapshot that has just been published.
   *
   * @param before the registry state of the snapshot published before; null for the first
   */
  public void record(
      ContentVersionedSnapshot snapshot,
      RegistryState before,
      RegistryState state,
      boolean settingsChanged,
      Instant at) {
    Entry previous;
    ContentVersionedSnapshot last;
    synchronized (this) {
      // Set together: the newest entry and the snapshot it was recorded from.
      previous = entries.peekFirst();
      last = lastRecorded;
    }
    Map<String, String> typeVersions = new HashMap<>();
    Map<String, SortedMap<String, String>> versions = new HashMap<>();
    SortedMap<String, TypeChanges> changes = new TreeMap<>();
    for (ResourceType type : XdsTypes.ALL) {
      String name = XdsTypes.shortName(type);
      String typeVersion = snapshot.version(type);
      typeVersions.put(name, typeVersion);
      if (previous != null && typeVersion.equals(previous.typeVersions().get(name))) {
        versions.put(name, previous.resourceVersions().get(name));
        continue;
      }
      // The versions are persistent maps: an entry shares all but the changed names with the one
      // before, so a change costs (in time and memory) its size, plus a scan by reference.
      PSortedMap<String, String> byName =
          previous == null
              ? TreePMap.empty()
              : (PSortedMap<String, String>) previous.resourceVersions().get(name);
      TypeChanges typeChanges = sorted(snapshot.changesSince(last, type));
      Map<String, VersionedResource<?>> now = resources(snapshot, type);
      for (String added : typeChanges.added()) {
        byName = byName.plus(added, now.get(added).version());
      }
      for (String modified : typeChanges.modified()) {
        byName = byName.plus(modified, now.get(modified).version());
      }
      byName = byName.minusAll(typeChanges.removed());
      versions.put(name, byName);
      if (!typeChanges.isEmpty()) {
        changes.put(name, typeChanges);
      }
    }
    SortedMap<String, ServiceChange> serviceChanges = serviceChanges(before, state);
    SortedMap<String, String> changedBy = new TreeMap<>();
    serviceChanges
        .keySet()
        .forEach(name -> changedBy.put(name, state.changedBy().getOrDefault(name, "")));
    Entry entry =
        new Entry(
            snapshot.version(),
            at,
            state.revision(),
            before == null,
            settingsChanged,
            Collections.unmodifiableSortedMap(changes),
            serviceChanges,
            Collections.unmodifiableSortedMap(changedBy),
            Map.copyOf(typeVersions),
            Map.copyOf(versions));
    synchronized (this) {
      lastRecorded = snapshot;
      entries.addFirst(entry);
      while (entries.size() > capacity) {
        entries.removeLast();
      }
    }
  }

  /** Newest first, at most {@code limit}. */
  public synchronized List<Entry> latest(int limit) {
    return entries.stream().limit(limit).toList();
  }

  public synchronized Optional<Entry> find(String version) {
    return entries.stream().filter(e -> e.version().equals(version)).findFirst();
  }

  public int capacity() {
    return capacity;
  }

  /**
   * What changed from one recorded snapshot to another, by short type name; only types that
   * changed.
   */
  public static SortedMap<String, TypeChanges> diff(Entry from, Entry to) {
    SortedMap<String, TypeChanges> changes = new TreeMap<>();
    for (ResourceType type : XdsTypes.ALL) {
      String name = XdsTypes.shortName(type);
      TypeChanges typeChanges =
          diff(from.resourceVersions().get(name), to.resourceVersions().get(name));
      if (!typeChanges.isEmpty()) {
        changes.put(name, typeChanges);
      }
    }
    return changes;
  }

  private static TypeChanges diff(Map<String, String> before, Map<String, String> after) {
    if (before == after) {
      return new TypeChanges(List.of(), List.of(), List.of());
    }
    List<String> added = new ArrayList<>();
    List<String> modified = new ArrayList<>();
    after.forEach(
        (name, version) -> {
          String old = before.get(name);
          if (old == null) {
            added.add(name);
          } else if (!old.equals(version)) {
            modified.add(name);
          }
        });
    List<String> removed = new ArrayList<>(new TreeSet<>(before.keySet()));
    removed.removeAll(after.keySet());
    Collections.sort(added);
    Collections.sort(modified);
    return new TypeChanges(added, removed, modified);
  }

  @SuppressWarnings("unchecked")
  private static Map<String, VersionedResource<?>> resources(
      ContentVersionedSnapshot snapshot, ResourceType type) {
    return (Map<String, VersionedResource<?>>) (Map<?, ?>) snapshot.versionedResources(type);
  }

  private static TypeChanges sorted(ResourceDiff diff) {
    return new TypeChanges(
        diff.added().stream().sorted().toList(),
        diff.removed().stream().sorted().toList(),
        diff.modified().stream().sorted().toList());
  }

  private static SortedMap<String, ServiceChange> serviceChanges(
      RegistryState before, RegistryState after) {
    SortedMap<String, ServiceChange> changes = new TreeMap<>();
    if (before == null) {
      after.services().keySet().forEach(name -> changes.put(name, ServiceChange.ADDED));
      return Collections.unmodifiableSortedMap(changes);
    }
    for (String name : after.servicesDifferingFrom(before)) {
      if (!before.services().containsKey(name)) {
        changes.put(name, ServiceChange.ADDED);
      } else if (!after.services().containsKey(name)) {
        changes.put(name, ServiceChange.REMOVED);
      } else {
        changes.put(name, ServiceChange.MODIFIED);
      }
    }
    return Collections.unmodifiableSortedMap(changes);
  }
}
