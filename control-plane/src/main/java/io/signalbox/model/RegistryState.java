package io.signalbox.model;

import java.util.Collections;
import java.util.SortedMap;
import java.util.TreeMap;
import org.pcollections.PSortedMap;

/**
 * An immutable, consistent view of the whole registry: the translator's only input.
 *
 * @param revision increases with every change, so consumers can skip work for a state they already
 *     handled
 * @param services by name, sorted
 * @param changedBy what last changed each service and who ("register by
 *     spiffe://.../service/orders", "lease expired"), by name; also for services removed lately, so
 *     that a consumer comparing two states can say who removed one. Not configuration: the
 *     translator ignores it.
 */
public record RegistryState(
    long revision, SortedMap<String, ServiceState> services, SortedMap<String, String> changedBy) {

  public static final RegistryState EMPTY = new RegistryState(0, new TreeMap<>());

  public RegistryState {
    // A persistent map is immutable already: the store hands its maps over without a copy, so a
    // new revision costs nothing per service.
    services = immutable(services);
    changedBy = changedBy == null ? Collections.emptySortedMap() : immutable(changedBy);
  }

  private static <V> SortedMap<String, V> immutable(SortedMap<String, V> map) {
    return map instanceof PSortedMap<String, V> persistent
        ? persistent
        : Collections.unmodifiableSortedMap(new TreeMap<>(map));
  }

  /** A state without causes (nobody in particular changed it). */
  public RegistryState(long revision, SortedMap<String, ServiceState> services) {
    this(revision, services, null);
  }

  /**
   * What changed a service and who: {@code action} by {@code identity}, "a plaintext caller" for no
   * identity.
   */
  public static String cause(String action, String identity) {
    return action + " by " + (identity.isEmpty() ? "a plaintext caller" : identity);
  }
}
