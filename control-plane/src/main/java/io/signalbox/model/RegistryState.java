package io.signalbox.model;

import java.util.Collections;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * An immutable, consistent view of the whole registry: the translator's only input.
 *
 * @param revision increases with every change, so consumers can skip work for a state they already handled
 * @param services by name, sorted
 */
public record RegistryState(long revision, SortedMap<String, ServiceState> services) {

  public static final RegistryState EMPTY = new RegistryState(0, new TreeMap<>());

  public RegistryState {
    services = Collections.unmodifiableSortedMap(new TreeMap<>(services));
  }
}
