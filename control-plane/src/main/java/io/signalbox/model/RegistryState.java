package io.signalbox.model;

import java.util.Collections;
import java.util.Iterator;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;
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
 * @param changes which service each recent revision changed ({@link #servicesChangedSince}); not
 *     configuration, and not part of a state's equality
 */
public record RegistryState(
    long revision,
    SortedMap<String, ServiceState> services,
    SortedMap<String, String> changedBy,
    ServiceChangeLog changes) {

  public static final RegistryState EMPTY = new RegistryState(0, new TreeMap<>());

  public RegistryState {
    // A persistent map is immutable already: the store hands its maps over without a copy, so a
    // new revision costs nothing per service.
    services = immutable(services);
    changedBy = changedBy == null ? Collections.emptySortedMap() : immutable(changedBy);
    changes = changes == null ? ServiceChangeLog.NONE : changes;
  }

  /** A state without a change log: it compares with others in full. */
  public RegistryState(
      long revision,
      SortedMap<String, ServiceState> services,
      SortedMap<String, String> changedBy) {
    this(revision, services, changedBy, null);
  }

  /**
   * The names of the services whose state may differ between {@code other} and this state (a
   * superset: a service changed and changed back is named), found from the change log of the later
   * of the two at a cost that follows the changes between them; empty when the log cannot tell (the
   * states are not of one view of one registry, or too far apart), and then every service must be
   * compared.
   */
  public Optional<SortedSet<String>> servicesChangedSince(RegistryState other) {
    if (other == this) {
      return Optional.of(Collections.emptySortedSet());
    }
    if (other.changes.view() != changes.view() || changes == ServiceChangeLog.NONE) {
      return Optional.empty();
    }
    return revision >= other.revision
        ? changes.changedBetween(other.revision, revision)
        : other.changes.changedBetween(revision, other.revision);
  }

  /**
   * The names of the services whose state differs between {@code other} and this state (present in
   * one only, or different objects of different content). Only the services the change log names
   * are compared when it can name them ({@link #servicesChangedSince}); otherwise one walk through
   * both name-ordered maps, by reference first, as an unchanged service keeps its state object.
   */
  public SortedSet<String> servicesDifferingFrom(RegistryState other) {
    SortedSet<String> differing = new TreeSet<>();
    Optional<SortedSet<String>> named = servicesChangedSince(other);
    if (named.isPresent()) {
      for (String name : named.get()) {
        if (!Objects.equals(other.services.get(name), services.get(name))) {
          differing.add(name);
        }
      }
      return Collections.unmodifiableSortedSet(differing);
    }
    Iterator<Map.Entry<String, ServiceState>> then = other.services.entrySet().iterator();
    Iterator<Map.Entry<String, ServiceState>> now = services.entrySet().iterator();
    Map.Entry<String, ServiceState> t = then.hasNext() ? then.next() : null;
    Map.Entry<String, ServiceState> n = now.hasNext() ? now.next() : null;
    while (t != null || n != null) {
      int order = t == null ? 1 : n == null ? -1 : t.getKey().compareTo(n.getKey());
      if (order < 0) {
        differing.add(t.getKey());
        t = then.hasNext() ? then.next() : null;
      } else if (order > 0) {
        differing.add(n.getKey());
        n = now.hasNext() ? now.next() : null;
      } else {
        if (!Objects.equals(t.getValue(), n.getValue())) {
          differing.add(n.getKey());
        }
        t = then.hasNext() ? then.next() : null;
        n = now.hasNext() ? now.next() : null;
      }
    }
    return Collections.unmodifiableSortedSet(differing);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof RegistryState other
        && revision == other.revision
        && services.equals(other.services)
        && changedBy.equals(other.changedBy);
  }

  @Override
  public int hashCode() {
    return Objects.hash(revision, services, changedBy);
  }

  private static <V> SortedMap<String, V> immutable(SortedMap<String, V> map) {
    return map instanceof PSortedMap<String, V> persistent
        ? persistent
        : Collections.unmodifiableSortedMap(new TreeMap<>(map));
  }

  /** A state without causes (nobody in particular changed it). */
  public RegistryState(long revision, SortedMap<String, ServiceState> services) {
    this(revision, services, null, null);
  }

  /**
   * What changed a service and who: {@code action} by {@code identity}, "a plaintext caller" for no
   * identity.
   */
  public static String cause(String action, String identity) {
    return action + " by " + (identity.isEmpty() ? "a plaintext caller" : identity);
  }
}
