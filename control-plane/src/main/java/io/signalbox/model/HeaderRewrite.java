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
    set = java.util.Collections.unmodifiableSortedMap(new TreeMap<>(set));
    add = java.util.Collections.unmodifiableSortedMap(new TreeMap<>(add));
    remove = remove.stream().sorted().distinct().toList();
  }

  public boolean isEmpty() {
    return set.isEmpty() && add.isEmpty() && remove.isEmpty();
  }
}
