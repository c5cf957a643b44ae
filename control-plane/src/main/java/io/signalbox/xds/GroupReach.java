package io.signalbox.xds;

import io.signalbox.config.GatewaySettings;
import io.signalbox.model.RegistryState;
import java.time.Instant;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.SortedSet;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Which kept node groups a publication may send something new, so that a change costs the groups it
 * reaches rather than the fleet's every group. Reached are:
 *
 * <ul>
 *   <li>every group made of the whole fleet (an edge group; a sidecar group whose service names no
 *       callees);
 *   <li>of the groups made of a few services (a scoped sidecar group: its own service and those it
 *       calls, {@link GroupSnapshots#decidedOnlyBy}), those that take a service the change log
 *       names between the last publication walked and the next;
 *   <li>every unsettled group: new, or whose last making failed, or sent something else since the
 *       last walk (a stage of a staged change, a step of a policy handover, a renewed certificate);
 *   <li>every group whose last Envoy left (it is forgotten when it is reached without one).
 * </ul>
 *
 * <p>Every group is reached when the settings, a policy handover or the certificate window differ
 * from the last walk's, or when the change log cannot name the changes (a quarantine's trial).
 *
 * <p>A group not reached would be made what it was sent: none of the services it takes changed, nor
 * the settings, the handover or its certificate, which is all {@link SidecarSnapshots} makes a
 * scoped group of. So what it was sent is what it is judged by, without making it again ({@link
 * #walkedTo}).
 *
 * <p>{@link #left} and {@link #walkedTo} are safe on any thread; the rest is called with the
 * publisher's lock held.
 */
final class GroupReach {

  /**
   * What the last walk sent every group settled: their snapshots of this publication. Each walk
   * makes a new one, even of the same publication.
   */
  record Walk(
      ContentVersionedSnapshot fleet,
      RegistryState state,
      GatewaySettings settings,
      Instant window) {}

  /** The services each scoped group is made of. */
  private final Map<String, Set<String>> takesOf = new HashMap<>();

  /** The scoped groups each service is taken by. */
  private final Map<String, Set<String>> takenBy = new HashMap<>();

  /** The groups made of the whole fleet. */
  private final Set<String> wholeFleet = new HashSet<>();

  /** Kept groups, sent something else than their snapshot of the last walk's publication. */
  private final Set<String> unsettled = ConcurrentHashMap.newKeySet();

  /** Groups whose last Envoy left since they were last reached; told on any thread. */
  private final Set<String> left = ConcurrentHashMap.newKeySet();

  /** Null while a walk sends, and before the first. */
  private volatile Walk last;

  /**
   * The groups of {@code kept} that {@code next} may send something new, in {@code window}: a view
   * of {@code kept} when every group may be.
   */
  Collection<String> reached(Set<String> kept, FleetPublication next, Instant window) {
    // Its last Envoy left before it was kept, or it was forgotten since: nothing to reach.
    left.removeIf(group -> !kept.contains(group));
    Walk walk = last;
    if (walk == null
        || takesOf.isEmpty()
        || !next.handover().isEmpty()
        || !walk.window().equals(window)
        || !(walk.settings() == next.settings() || walk.settings().equals(next.settings()))) {
      return kept;
    }
    Optional<SortedSet<String>> changed = next.state().servicesChangedSince(walk.state());
    if (changed.isEmpty()) {
      return kept;
    }
    Set<String> reached = new HashSet<>(wholeFleet);
    reached.addAll(unsettled);
    reached.addAll(left);
    for (String service : changed.get()) {
      Set<String> groups = takenBy.get(service);
      if (groups != null) {
        reached.addAll(groups);
      }
    }
    return reached;
  }

  /**
   * A walk starts: until it ends ({@link #walked}), no group's last snapshot is taken for what it
   * is made of the walk's publication.
   */
  void walking() {
    last = null;
  }

  /** Every group settled was sent its snapshot of {@code publication}, made in {@code window}. */
  void walked(FleetPublication publication, Instant window) {
    last = new Walk(publication.fleet(), publication.state(), publication.settings(), window);
  }

  /** The last walk, to be passed to {@link #walkedTo}; null while a walk sends. */
  Walk lastWalk() {
    return last;
  }

  /**
   * Whether {@code group} holds its snapshot of the publication of {@code fleet}, {@code state} and
   * {@code settings} (without a handover): {@code walk}'s, still the last walk, and the group
   * settled since. Read {@code walk} ({@link #lastWalk}) before what the group holds, and ask this
   * after: a walk (even of the same publication) or an unsettling that wrote it meanwhile is seen
   * here.
   */
  boolean walkedTo(
      Walk walk,
      String group,
      ContentVersionedSnapshot fleet,
      RegistryState state,
      GatewaySettings settings) {
    return walk != null
        && walk == last
        && walk.fleet() == fleet
        && walk.state() == state
        && walk.settings() == settings
        && !unsettled.contains(group);
  }

  /**
   * {@code group} was sent its snapshot of the last walk's publication: made of the services {@code
   * decidedOnlyBy} names, or of the whole fleet.
   */
  void settled(String group, Optional<Set<String>> decidedOnlyBy) {
    Set<String> before = takesOf.get(group);
    Set<String> now = decidedOnlyBy.orElse(null);
    if (before != now) {
      if (before != null) {
        untake(group, before);
      }
      if (now != null) {
        takesOf.put(group, now);
        for (String service : now) {
          takenBy.computeIfAbsent(service, s -> new HashSet<>(4)).add(group);
        }
      }
    }
    if (now == null) {
      wholeFleet.add(group);
    } else {
      wholeFleet.remove(group);
    }
    unsettled.remove(group);
  }

  /** {@code group}, kept, is reached by the next publication, whatever it changes. */
  void unsettle(String group) {
    unsettled.add(group);
  }

  /**
   * The last Envoy of {@code group} left: the next publication reaches it, to forget it unless one
   * came back. Any thread.
   */
  void left(String group) {
    left.add(group);
  }

  /**
   * A walk reached {@code group}, and asks next whether an Envoy of it is connected: a leaving told
   * from now on is for the next walk.
   */
  void reaching(String group) {
    left.remove(group);
  }

  /** {@code group} is no longer kept. */
  void forget(String group) {
    Set<String> before = takesOf.get(group);
    if (before != null) {
      untake(group, before);
    }
    wholeFleet.remove(group);
    unsettled.remove(group);
    left.remove(group);
  }

  private void untake(String group, Set<String> services) {
    takesOf.remove(group);
    for (String service : services) {
      Set<String> groups = takenBy.get(service);
      if (groups != null && groups.remove(group) && groups.isEmpty()) {
        takenBy.remove(service);
      }
    }
  }
}
