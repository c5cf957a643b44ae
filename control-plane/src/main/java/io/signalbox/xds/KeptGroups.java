package io.signalbox.xds;

import io.signalbox.config.GatewaySettings;
import io.signalbox.metrics.SignalboxMetrics;
import io.signalbox.model.RegistryState;
import io.signalbox.translate.PolicyHandover;
import java.time.Instant;
import java.util.Collection;
import java.util.Collections;
import java.util.Map;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Predicate;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node groups the pipeline sends to, and what each was last sent: a group is kept from its
 * first Envoy's first request until none of its Envoys is connected. Each is sent its own snapshot
 * of every publication ({@link GroupSnapshots#base}), in its zone's view; a group whose snapshot
 * cannot be made keeps what it holds, said once per failure.
 *
 * <p>Every method that sends or changes what is kept is called with the publisher's lock held (the
 * one that orders publications), so that an older snapshot never overwrites a newer one; reads are
 * safe on any thread.
 */
final class KeptGroups {

  private static final Logger log = LoggerFactory.getLogger(KeptGroups.class);

  private final Set<String> groups = ConcurrentHashMap.newKeySet();

  /** The zones of the groups kept: named by Envoys, so bounded. */
  private final KeptZones zones = new KeptZones();

  /**
   * What each group was last sent in full (a stage of a staged change aside), before its zone's
   * view: the fleet's snapshot or the group's own ({@link GroupSnapshots#base}). The next staged
   * change starts from it.
   */
  private final Map<String, ContentVersionedSnapshot> sentBases = new ConcurrentHashMap<>();

  /** Why each group's snapshot could not be made last time, while it cannot. */
  private final Map<String, String> failures = new ConcurrentHashMap<>();

  /** Which groups a publication reaches: the others are not asked. */
  private final GroupReach reach = new GroupReach();

  private final GroupSnapshotCache cache;
  private final GroupSnapshots snapshots;
  private final Predicate<String> connected;
  private final SignalboxMetrics metrics;

  /**
   * @param connected whether a group has an Envoy connected; a group without one is forgotten
   */
  KeptGroups(
      GroupSnapshotCache cache,
      GroupSnapshots snapshots,
      Predicate<String> connected,
      SignalboxMetrics metrics) {
    this.cache = cache;
    this.snapshots = snapshots;
    this.connected = connected;
    this.metrics = metrics;
  }

  boolean isKept(String group) {
    return groups.contains(group);
  }

  /** Keeps {@code group}; returns whether it was not kept before. Call with the lock held. */
  boolean keep(String group) {
    if (!groups.add(group)) {
      return false;
    }
    zones.groupKept(group);
    reach.unsettle(group);
    return true;
  }

  /**
   * The last Envoy of {@code group} left: the next publication reaches it, to forget it unless one
   * came back meanwhile. Any thread.
   */
  void left(String group) {
    reach.left(group);
  }

  /**
   * The groups {@code next} may send something new ({@link GroupReach}); the others would be made
   * what they hold. Call with the lock held.
   */
  Collection<String> reached(FleetPublication next) {
    return reach.reached(groups, next, snapshots.certificateWindow());
  }

  /** The groups kept, to walk under the lock (a live view). */
  Set<String> names() {
    return groups;
  }

  /** The groups kept, sorted; a copy. */
  SortedSet<String> sorted() {
    return Collections.unmodifiableSortedSet(new TreeSet<>(groups));
  }

  boolean isConnected(String group) {
    return connected.test(group);
  }

  ZoneAdmission zoneAdmission() {
    return zones;
  }

  /**
   * Sends each group what it holds with its workload certificate renewed, when half its life has
   * passed ({@link GroupSnapshots#withCertificateRenewed}): a stage of a staged change or a
   * handover's step is renewed as it is, never taken back to what the group was last sent in full,
   * which stays as it was. {@code settings} are those of what the groups hold. Call with the lock
   * held.
   */
  void renewHeldCertificates(GatewaySettings settings) {
    for (String group : groups) {
      if (!(cache.getSnapshot(group) instanceof ContentVersionedSnapshot held)) {
        continue;
      }
      ContentVersionedSnapshot renewed =
          madeFor(group, () -> snapshots.withCertificateRenewed(group, held, settings));
      if (renewed != null && renewed != held) {
        reach.unsettle(group);
        cache.setSnapshot(group, renewed);
        log.info(
            "Node group {} was sent its renewed workload certificate; publishing is held", group);
      }
    }
  }

  /**
   * What the quarantine judges {@code group}'s Envoys by for {@code publication}: the group's own
   * snapshot of it in its zone's view; for a group that cannot be made, what it was last sent (or
   * the fleet's snapshot, when nothing), until a publication makes and sends it one again (a group
   * whose making failed is not judged by a snapshot it was never sent, even once it could be made:
   * the verdict judges again only the Envoys of groups sent something). Not logged: the verdict
   * asks on every poll, and the publication that failed to make the group has logged it ({@link
   * #madeFor}).
   */
  ContentVersionedSnapshot judgedBy(NackQuarantine.Publication publication, String group) {
    GroupReach.Walk walk = reach.lastWalk();
    ContentVersionedSnapshot sent = sentBases.get(group);
    if (sent != null
        && reach.walkedTo(
            walk, group, publication.snapshot(), publication.state(), publication.settings())) {
      // What the last walk sent it, or would have made it again: not made once more per verdict.
      return sent.forGroup(group);
    }
    ContentVersionedSnapshot lastSent = sent != null ? sent : publication.snapshot();
    if (failures.containsKey(group)) {
      return lastSent.forGroup(group);
    }
    ContentVersionedSnapshot base;
    try {
      base =
          snapshots.base(
              group,
              publication.snapshot(),
              publication.state(),
              publication.settings(),
              PolicyHandover.NONE);
    } catch (RuntimeException e) {
      base = lastSent;
    }
    return base.forGroup(group);
  }

  /** Whether {@code group}'s Envoys find a snapshot in the cache: it has been sent one. */
  boolean hasSnapshot(String group) {
    return cache.getSnapshot(group) != null;
  }

  /** What {@code group} was last sent in full, or null. */
  ContentVersionedSnapshot sentBase(String group) {
    return sentBases.get(group);
  }

  /**
   * Sends each group kept that the change reaches ({@link GroupReach#reached}) its snapshot of
   * {@code fleet}, built from {@code state} with {@code settings}, forgetting the groups whose
   * Envoys have all gone. Call with the lock held.
   */
  void sendEach(ContentVersionedSnapshot fleet, RegistryState state, GatewaySettings settings) {
    FleetPublication publication =
        new FleetPublication(fleet, state, settings, PolicyHandover.NONE);
    // Read before any group is made: a window that ends meanwhile reaches every group next time.
    Instant window = snapshots.certificateWindow();
    Collection<String> reached = reach.reached(groups, publication, window);
    reach.walking();
    for (String group : reached) {
      reach.reaching(group);
      if (!connected.test(group) && forget(group)) {
        continue;
      }
      ContentVersionedSnapshot base = madeFor(group, publication);
      if (base != null) {
        send(group, base);
      }
    }
    reach.walked(publication, window);
  }

  /**
   * {@code group}'s snapshot of {@code target}, or null when it cannot be made (see {@link
   * #madeFor(String, Supplier)}).
   */
  ContentVersionedSnapshot madeFor(String group, FleetPublication target) {
    return madeFor(
        group,
        () ->
            snapshots.base(
                group, target.fleet(), target.state(), target.settings(), target.handover()));
  }

  /**
   * The snapshot {@code make} makes for {@code group}, or null when it cannot be made (say, the
   * group's workload certificate cannot be issued): logged, and the group keeps what it has, while
   * every other group is sent the change (a policy handover stops instead, {@link
   * StagedPublishing}).
   */
  ContentVersionedSnapshot madeFor(String group, Supplier<ContentVersionedSnapshot> make) {
    try {
      ContentVersionedSnapshot made = make.get();
      if (failures.remove(group) != null) {
        log.info("Node group {} can be made its snapshot again", group);
      }
      return made;
    } catch (RuntimeException e) {
      // Reached by every publication until it can be made.
      reach.unsettle(group);
      String failure = String.valueOf(e);
      if (failure.equals(failures.put(group, failure))) {
        // The same failure again, every publication: said, without its stack trace again.
        log.error(
            "Node group {} could not be made the new snapshot; it keeps what it holds, if"
                + " anything: {}",
            group,
            failure);
      } else {
        log.error(
            "Node group {} could not be made the new snapshot; it keeps what it holds, if anything",
            group,
            e);
      }
      return null;
    }
  }

  /**
   * Sends {@code group} its zone's view of {@code base}, its snapshot of the publication the groups
   * are sent (the last walk's, or the one being walked). Call with the lock held.
   */
  void send(String group, ContentVersionedSnapshot base) {
    sentBases.put(group, base);
    reach.settled(group, snapshots.decidedOnlyBy(group, base));
    sendView(group, base);
  }

  /**
   * Sends {@code group} {@code step}, a step towards the next publication (of a policy handover):
   * the next walk reaches it. Call with the lock held.
   */
  void sendStep(String group, ContentVersionedSnapshot step) {
    // First: a judge that reads the step as what the group was sent finds it unsettled.
    reach.unsettle(group);
    sentBases.put(group, step);
    sendView(group, step);
  }

  /**
   * Sends {@code group} {@code stage}, a stage of a staged change, in its zone's view already: the
   * next walk reaches it, which sends it the change's end, or takes it back where it was when the
   * change was given up (publishing paused, then the change undone). Call with the lock held.
   */
  void sendStage(String group, ContentVersionedSnapshot stage) {
    reach.unsettle(group);
    cache.setSnapshot(group, stage);
  }

  private void sendView(String group, ContentVersionedSnapshot base) {
    ContentVersionedSnapshot sent = base.forGroup(group);
    if (cache.getSnapshot(group) != sent) {
      cache.setSnapshot(group, sent);
    }
  }

  /**
   * Tells the cache what each group holds of the {@code lastGood} configuration, which rejected
   * resources are judged against ({@link XdsSnapshotCache#setLastGood}): each group's view as the
   * quarantine judges it ({@link #judgedBy}), made only for a group one of whose Envoys has a
   * rejected resource to be sent again, once per configuration.
   */
  void lastGood(NackQuarantine.Publication lastGood) {
    cache.setLastGood(group -> judgedBy(lastGood, group));
  }

  /**
   * Forgets {@code group}, whose Envoys have all gone: it is no longer made and sent a snapshot on
   * every publication (groups came and went with services and zones, and were kept for good). An
   * Envoy of it that connects meanwhile has counted as connected before it looks for the group
   * ({@link SnapshotPublisher#groupSeen}): it is seen here and the group kept, or it finds the
   * group gone and waits for the lock to set its snapshot again. A group whose watches are not all
   * closed yet is kept until the next publication. Call with the lock held.
   */
  private boolean forget(String group) {
    groups.remove(group);
    if (connected.test(group)) {
      groups.add(group);
      return false;
    }
    if (!cache.clearSnapshot(group)) {
      groups.add(group);
      reach.left(group);
      return false;
    }
    zones.groupForgotten(group);
    reach.forget(group);
    sentBases.remove(group);
    failures.remove(group);
    snapshots.forget(group, groups);
    metrics.groupForgotten(group);
    log.info("Node group {} has no Envoy connected any more: forgotten", group);
    return true;
  }
}
