package io.signalbox.translate;

import com.google.common.collect.Lists;
import java.util.Collections;
import java.util.List;
import java.util.function.Function;

/**
 * Lookups by name in the name-ordered lists of {@link XdsResources}, by halving ({@link
 * Collections#binarySearch} over a view of the names): what a scoped sidecar takes of the fleet
 * costs its calls, not the registry.
 */
final class NameOrder {

  private NameOrder() {}

  /** The index of the first resource of {@code sorted} whose name is {@code key} or after it. */
  static <T> int firstFrom(List<T> sorted, Function<T, String> name, String key) {
    List<String> names = Lists.transform(sorted, name::apply);
    int found = Collections.binarySearch(names, key);
    if (found < 0) {
      return -found - 1;
    }
    while (found > 0 && names.get(found - 1).equals(key)) {
      found--;
    }
    return found;
  }

  /**
   * The resource of {@code sorted} named {@code key}, or null; of equal names the last, as {@link
   * XdsResources} counts them.
   */
  static <T> T named(List<T> sorted, Function<T, String> name, String key) {
    List<String> names = Lists.transform(sorted, name::apply);
    int found = Collections.binarySearch(names, key);
    if (found < 0) {
      return null;
    }
    while (found + 1 < names.size() && names.get(found + 1).equals(key)) {
      found++;
    }
    return sorted.get(found);
  }
}
