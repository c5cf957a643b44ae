package io.signalbox.store;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.NavigableSet;
import java.util.TreeSet;

/**
 * Lease ids in the order their leases end, soonest first: the reaper's tick, which runs every few
 * hundred milliseconds on every replica, looks at the leases that have ended, not at the registry.
 * Not thread-safe: its owner's lock guards it.
 */
final class LeaseEndings {

  private record Ending(Instant at, String leaseId) {}

  private static final Comparator<Ending> SOONEST_FIRST =
      Comparator.comparing(Ending::at).thenComparing(Ending::leaseId);

  private final NavigableSet<Ending> bySoonest = new TreeSet<>(SOONEST_FIRST);
  private final Map<String, Instant> endOf = new HashMap<>();

  /** The lease ends at {@code at}, wherever it ended before. */
  void set(String leaseId, Instant at) {
    Instant before = endOf.put(leaseId, at);
    if (before != null) {
      bySoonest.remove(new Ending(before, leaseId));
    }
    bySoonest.add(new Ending(at, leaseId));
  }

  void remove(String leaseId) {
    Instant before = endOf.remove(leaseId);
    if (before != null) {
      bySoonest.remove(new Ending(before, leaseId));
    }
  }

  void clear() {
    bySoonest.clear();
    endOf.clear();
  }

  /** The leases ended at {@code now} (their end not after it), soonest first. */
  List<String> endedAt(Instant now) {
    List<String> ended = new ArrayList<>();
    for (Ending ending : bySoonest) {
      if (ending.at().isAfter(now)) {
        break;
      }
      ended.add(ending.leaseId());
    }
    return ended;
  }
}
