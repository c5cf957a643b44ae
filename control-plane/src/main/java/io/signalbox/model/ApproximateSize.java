package io.signalbox.model;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.RecordComponent;
import java.util.Collection;
import java.util.Map;
import java.util.Optional;

/**
 * About how many bytes a value of the model holds: the characters of every string in it, walked
 * through its records, lists, maps and optionals, plus a few bytes for every other value and
 * element. A new record component counts without anyone remembering to add it here.
 *
 * <p>It used to be the length of the value's text form, which grows the same way; but writing that
 * text out cost a seventh of a registration's handling on the registry API's threads (a JFR profile
 * of {@code bench/run.sh store}), for a number nobody reads.
 */
final class ApproximateSize {

  /** A number, flag or enum constant, or the bookkeeping of one element or component. */
  private static final long SCALAR = 4;

  private static final ClassValue<Method[]> ACCESSORS =
      new ClassValue<>() {
        @Override
        protected Method[] computeValue(Class<?> type) {
          RecordComponent[] components = type.getRecordComponents();
          Method[] accessors = new Method[components.length];
          for (int i = 0; i < components.length; i++) {
            accessors[i] = components[i].getAccessor();
            // Records nested in a public type may be package-private (RouteAction's).
            accessors[i].setAccessible(true);
          }
          return accessors;
        }
      };

  private ApproximateSize() {}

  static long of(Object value) {
    if (value == null) {
      return 0;
    }
    if (value instanceof CharSequence text) {
      return text.length();
    }
    if (value instanceof Collection<?> elements) {
      long bytes = 0;
      for (Object element : elements) {
        bytes += SCALAR + of(element);
      }
      return bytes;
    }
    if (value instanceof Map<?, ?> entries) {
      long bytes = 0;
      for (Map.Entry<?, ?> entry : entries.entrySet()) {
        bytes += SCALAR + of(entry.getKey()) + of(entry.getValue());
      }
      return bytes;
    }
    if (value instanceof Optional<?> optional) {
      return optional.map(ApproximateSize::of).orElse(0L);
    }
    if (value.getClass().isRecord()) {
      long bytes = 0;
      for (Method accessor : ACCESSORS.get(value.getClass())) {
        bytes += SCALAR + of(component(accessor, value));
      }
      return bytes;
    }
    return SCALAR;
  }

  private static Object component(Method accessor, Object record) {
    try {
      return accessor.invoke(record);
    } catch (IllegalAccessException | InvocationTargetException e) {
      throw new IllegalStateException("cannot read " + accessor + " of a model record", e);
    }
  }
}
