package io.signalbox.model;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Header changes on a request or a response.
 *
 * @param set values that replace the header's (or add it), by name in name order
 * @param add values added beside any the message has
 * @param remove headers removed
 */
public record HeaderRewrite(Map<String, String> set, Map<String, String> add, List<String> remove) {

  public static final HeaderRewrite NONE =
      new HeaderRewrite(new TreeMap<>(), new TreeMap<>(), List.of());

  public HeaderRewrite {
    set = sorted(set);
    add = sorted(add);
    remove = remove.stream().sorted().distinct().toList();
  }

  /**
   * An immutable copy in name order; an empty one shared, since nearly every route of a registry
   * has two empty rewrites, each of two maps (a sorted map and its views cost about 110 bytes).
   */
  private static Map<String, String> sorted(Map<String, String> headers) {
    return headers.isEmpty()
        ? java.util.Collections.emptySortedMap()
        : java.util.Collections.unmodifiableSortedMap(new TreeMap<>(headers));
  }

  public boolean isEmpty() {
    return set.isEmpty() && add.isEmpty() && remove.isEmpty();
  }
}
