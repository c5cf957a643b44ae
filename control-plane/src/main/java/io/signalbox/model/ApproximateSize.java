package io.signalbox.model;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.RecordComponent;
import java.util.Collection;
import java.util.Map;
import java.util.Optional;

/**
 * About how many bytes of heap a value of the model holds: an object header for every record,
 * string, collection and boxed value in it, a reference for every component and element, and a byte
 * for every character (strings of the model are Latin-1 in practice), walked through its records,
 * lists, maps and optionals. A new record component counts without anyone remembering to add it
 * here.
 *
 * <p>It used to be the length of the value's text form, which grows the same way; but writing that
 * text out cost a seventh of a registration's handling on the registry API's threads (a JFR profile
 * of {@code bench/run.sh store}), for a number nobody reads.
 */
final class ApproximateSize {

  /** An object's header, padded: a record's, an empty collection's, a boxed value's. */
  private static final long OBJECT = 16;

  /** A reference to a component or element. */
  private static final long REFERENCE = 4;

  /** A string's header and its byte array's. */
  private static final long STRING = 40;

  /** A map's entry (key, value, hash, next). */
  private static final long MAP_ENTRY = 32;

  private static final ClassValue<Method[]> ACCESSORS =
      new ClassValue<>() {
        @Override
        protected Method[] computeValue(Class<?> type) {
          RecordComponent[] components = type.getRecordComponents();
          Method[] accessors = new Method[components.length];
          for (int i = 0; i < components.length; i++) {
            accessors[i] = components[i].getAccessor();
            // A record nested in a package-private type cannot be read otherwise.
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
      return STRING + text.length();
    }
    if (value instanceof Collection<?> elements) {
      long bytes = OBJECT;
      for (Object element : elements) {
        bytes += REFERENCE + of(element);
      }
      return bytes;
    }
    if (value instanceof Map<?, ?> entries) {
      long bytes = OBJECT;
      for (Map.Entry<?, ?> entry : entries.entrySet()) {
        bytes += MAP_ENTRY + of(entry.getKey()) + of(entry.getValue());
      }
      return bytes;
    }
    if (value instanceof Optional<?> optional) {
      return optional.map(inner -> OBJECT + of(inner)).orElse(0L);
    }
    if (value.getClass().isRecord()) {
      long bytes = OBJECT;
      for (Method accessor : ACCESSORS.get(value.getClass())) {
        bytes += REFERENCE + of(component(accessor, value));
      }
      return bytes;
    }
    // A boxed number or flag, an enum constant, a Duration: one small object.
    return OBJECT;
  }

  private static Object component(Method accessor, Object record) {
    try {
      return accessor.invoke(record);
    } catch (IllegalAccessException | InvocationTargetException e) {
      throw new IllegalStateException("cannot read " + accessor + " of a model record", e);
    }
  }
}
