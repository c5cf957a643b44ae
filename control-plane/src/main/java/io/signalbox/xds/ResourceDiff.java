package io.signalbox.xds;

import io.envoyproxy.controlplane.cache.VersionedResource;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The names added, modified and removed in one resource type from one snapshot to another, in no
 * particular order. Unchanged resources are mostly the very same objects, so most comparisons are
 * by reference; the previous names are walked only when some went.
 */
record ResourceDiff(List<String> added, List<String> modified, List<String> removed) {

  static final ResourceDiff NONE = new ResourceDiff(List.of(), List.of(), List.of());

  ResourceDiff {
    added = List.copyOf(added);
    modified = List.copyOf(modified);
    removed = List.copyOf(removed);
  }

  static ResourceDiff between(
      Map<String, ? extends VersionedResource<?>> before,
      Map<String, ? extends VersionedResource<?>> after) {
    List<String> added = new ArrayList<>();
    List<String> modified = new ArrayList<>();
    after.forEach(
        (name, resource) -> {
          VersionedResource<?> old = before.get(name);
          if (old == null) {
            added.add(name);
          } else if (old != resource && !old.version().equals(resource.version())) {
            modified.add(name);
          }
        });
    List<String> removed = new ArrayList<>();
    if (before.size() + added.size() != after.size()) {
      before.keySet().stream().filter(name -> !after.containsKey(name)).forEach(removed::add);
    }
    return new ResourceDiff(added, modified, removed);
  }

  boolean isEmpty() {
    return added.isEmpty() && modified.isEmpty() && removed.isEmpty();
  }
}
