package io.signalbox.translate;

import java.util.List;
import java.util.function.Function;

/**
 * Lookups by name in the name-ordered lists of {@link XdsResources}, by halving: what a scoped
 * sidecar takes of the fleet costs its calls, not the registry.
 */
final class NameOrder {

  private NameOrder() {}

  /** The index of the first resource of {@code sorted} whose name is {@code key} or after it. */
  static <T> int firstFrom(List<T> sorted, Function<T, String> name, String key) {
    int low = 0;
    int high = sorted.size();
    while (low < high) {
      int middle = (low + high) >>> 1;
      if (name.apply(sorted.get(middle)).compareTo(key) < 0) {
        low = middle + 1;
      } else {
        high = middle;
      }
    }
    return low;
  }

  /**
   * The resource of {@code sorted} named {@code key}, or null; of equal names the last, as {@link
   * XdsResources} counts them.
   */
  static <T> T named(List<T> sorted, Function<T, String> name, String key) {
    int index = firstFrom(sorted, name, key);
    T found = null;
    while (index < sorted.size() && name.apply(sorted.get(index)).equals(key)) {
      found = sorted.get(index++);
    }
    return found;
  }
}
