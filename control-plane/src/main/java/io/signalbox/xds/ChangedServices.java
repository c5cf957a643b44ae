package io.signalbox.xds;

import io.signalbox.model.RegistryState;
import java.util.Optional;
import java.util.SortedSet;

/**
 * The services that may differ between two registry states ({@link
 * RegistryState#servicesChangedSince}), found once per pair and asked by every scoped sidecar group
 * of a publication. The last two pairs are kept, in either order: the fleet's Envoys are judged by
 * two publications in turn (the one just sent, and the last good one).
 */
final class ChangedServices {

  private record Pair(RegistryState one, RegistryState other, Optional<SortedSet<String>> changed) {

    boolean isOf(RegistryState from, RegistryState to) {
      return (one == from && other == to) || (one == to && other == from);
    }
  }

  private volatile Pair last;
  private volatile Pair before;

  /** The services that may differ between {@code from} and {@code to}; empty when unknown. */
  Optional<SortedSet<String>> between(RegistryState from, RegistryState to) {
    Pair latest = last;
    if (latest != null && latest.isOf(from, to)) {
      return latest.changed();
    }
    Pair earlier = before;
    if (earlier != null && earlier.isOf(from, to)) {
      return earlier.changed();
    }
    Optional<SortedSet<String>> changed = to.servicesChangedSince(from);
    synchronized (this) {
      before = last;
      last = new Pair(from, to, changed);
    }
    return changed;
  }
}
