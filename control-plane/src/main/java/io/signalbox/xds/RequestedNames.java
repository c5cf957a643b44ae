package io.signalbox.xds;

import com.google.common.collect.Interner;
import com.google.common.collect.Interners;
import java.util.AbstractList;
import java.util.Arrays;
import java.util.List;
import java.util.RandomAccess;

/**
 * The resource names a state-of-the-world request names, as one shared, immutable list per set of
 * names, its hash computed once. A type's version over a stream's names is looked up by them
 * ({@link ContentVersionedSnapshot#version}) for every stream before every publication: with every
 * stream naming each of 10,000 clusters, hashing and comparing the names was about 10,000 steps per
 * stream and type, and the fleet's Envoys name the same ones, so one list of them serves all.
 */
final class RequestedNames extends AbstractList<String> implements RandomAccess {

  private static final Interner<RequestedNames> SHARED = Interners.newWeakInterner();

  private final String[] names;
  private final int hash;

  private RequestedNames(List<String> names) {
    this.names = new String[names.size()];
    for (int i = 0; i < this.names.length; i++) {
      this.names[i] = TypeRecord.RESOURCE_NAMES.intern(names.get(i));
    }
    // The hash List.hashCode specifies, without a list made for it.
    this.hash = Arrays.hashCode(this.names);
  }

  /** {@code names}, as the list every stream naming them shares. */
  static List<String> of(List<String> names) {
    if (names.isEmpty()) {
      return List.of();
    }
    if (names instanceof RequestedNames shared) {
      return shared;
    }
    return SHARED.intern(new RequestedNames(names));
  }

  /** {@code requested}, unless it names what {@code held} names: then {@code held}, unchanged. */
  static List<String> keep(List<String> held, List<String> requested) {
    return held.equals(requested) ? held : of(requested);
  }

  @Override
  public String get(int index) {
    return names[index];
  }

  @Override
  public int size() {
    return names.length;
  }

  @Override
  public int hashCode() {
    return hash;
  }

  @Override
  public boolean equals(Object other) {
    if (other == this) {
      return true;
    }
    if (other instanceof RequestedNames shared && shared.hash != hash) {
      return false;
    }
    return super.equals(other);
  }
}
