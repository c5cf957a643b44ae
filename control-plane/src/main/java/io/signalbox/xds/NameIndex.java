package io.signalbox.xds;

import java.util.HashMap;
import java.util.Map;

/**
 * Values by name, made anew for every snapshot of a type at the cost of its changed names: a hash
 * map shared by a generation of snapshots, and the names changed since it was made. Once those grow
 * past a sixteenth of the names, a new generation begins with a new map, so lookups stay two hash
 * lookups and a change costs the changes of its generation (copied, at most a sixteenth of the
 * names) and, every sixteenth, a new map: at 10,000 names hundreds of entries, not 10,000 per
 * change. (A persistent tree map was tried first: each lookup cost ten times a hash lookup, and the
 * completeness check looks up every cluster.) Immutable.
 */
final class NameIndex<V> {

  private static final Object REMOVED = new Object();

  /** The fewest changes a generation may take, however few the names. */
  private static final int MIN_CHANGES = 32;

  /** Up to how many names a type makes a new generation for every snapshot. */
  private static final int SMALL = 16 * MIN_CHANGES;

  private final Map<String, V> generation;

  /** Names changed since {@link #generation} was made: their values, or {@link #REMOVED}. */
  private final Map<String, Object> changes;

  private NameIndex(Map<String, V> generation, Map<String, Object> changes) {
    this.generation = generation;
    this.changes = changes;
  }

  /** The first {@code size} of {@code names} and their {@code values}. */
  static <V> NameIndex<V> of(String[] names, V[] values, int size) {
    Map<String, V> generation = new HashMap<>(Math.max(16, size * 2));
    for (int i = 0; i < size; i++) {
      generation.put(names[i], values[i]);
    }
    return new NameIndex<>(generation, java.util.Collections.emptyMap());
  }

  @SuppressWarnings("unchecked")
  V get(Object name) {
    Object changed = changes.get(name);
    if (changed != null) {
      return changed == REMOVED ? null : (V) changed;
    }
    return generation.get(name);
  }

  /**
   * This index with {@code changed} names set to their values and {@code removed} ones gone; the
   * result must hold exactly the first {@code size} of {@code names} and {@code values}, from which
   * a new generation is made when one is due.
   */
  NameIndex<V> with(
      Map<String, V> changed, Iterable<String> removed, String[] names, V[] values, int size) {
    Map<String, Object> next = new HashMap<>(changes);
    next.putAll(changed);
    removed.forEach(name -> next.put(name, REMOVED));
    // A small type makes a new generation every time (cheap): a generation keeps the values it was
    // made with, and a type whose few names never changed enough would keep its first values (a
    // whole route configuration of its time) for good.
    if (size <= SMALL || next.size() > Math.max(MIN_CHANGES, size / 16)) {
      return of(names, values, size);
    }
    return new NameIndex<>(generation, next);
  }
}
