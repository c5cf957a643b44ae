package io.signalbox.model;

import java.util.Collections;
import java.util.Optional;
import java.util.SortedSet;
import java.util.TreeSet;
import org.pcollections.PSortedMap;
import org.pcollections.TreePMap;

/**
 * Which service each of a registry's recent revisions changed, so that two states of one registry
 * can name the services they differ in without comparing every service: the cost of comparing
 * follows the changes between them, not the size of the registry. Persistent (each state holds its
 * own version and shares the rest with the others) and bounded, so states further apart than {@link
 * #CAPACITY} revisions are compared in full.
 *
 * <p>Every revision of the registry changes exactly one service, so the log has no gaps: it knows
 * the changes between two revisions when the earlier one is at most one below its first entry.
 *
 * @param view which view of which registry the revisions count; states of different views (the
 *     whole registry, or what is served of it while services are quarantined) never compare by the
 *     log, as one revision holds different services in each
 * @param byRevision the service each recent revision changed
 */
public record ServiceChangeLog(Object view, PSortedMap<Long, String> byRevision) {

  /** The revisions a log keeps. */
  public static final int CAPACITY = 8192;

  /** No log: states compare in full. */
  public static final ServiceChangeLog NONE = new ServiceChangeLog(new Object(), TreePMap.empty());

  /** An empty log of a new view. */
  public static ServiceChangeLog of(Object view) {
    return new ServiceChangeLog(view, TreePMap.empty());
  }

  /** This log after {@code revision} changed {@code service}, the oldest dropped past capacity. */
  public ServiceChangeLog append(long revision, String service) {
    PSortedMap<Long, String> appended = byRevision.plus(revision, service);
    if (appended.size() > CAPACITY) {
      appended = appended.minus(appended.firstKey());
    }
    return new ServiceChangeLog(view, appended);
  }

  /** The same log, read as counting the revisions of {@code otherView}. */
  public ServiceChangeLog inView(Object otherView) {
    return otherView == view ? this : new ServiceChangeLog(otherView, byRevision);
  }

  /**
   * The services changed by the revisions after {@code from} up to {@code to}, if this log (of
   * revision {@code to} or later) still holds all of them.
   */
  Optional<SortedSet<String>> changedBetween(long from, long to) {
    if (from > to) {
      return Optional.empty();
    }
    if (from == to) {
      return Optional.of(Collections.emptySortedSet());
    }
    if (byRevision.isEmpty() || byRevision.firstKey() > from + 1 || byRevision.lastKey() < to) {
      return Optional.empty();
    }
    return Optional.of(
        Collections.unmodifiableSortedSet(
            new TreeSet<>(byRevision.subMap(from, false, to, true).values())));
  }
}
