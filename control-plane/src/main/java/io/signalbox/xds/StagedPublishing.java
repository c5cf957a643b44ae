package io.signalbox.xds;

import io.envoyproxy.controlplane.cache.Resources.ResourceType;
import io.envoyproxy.controlplane.cache.SnapshotConsistencyException;
import io.signalbox.translate.PolicyHandover;
import java.time.Duration;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.BooleanSupplier;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The steps a publication takes before the groups are sent what it is, when changes are staged: the
 * intermediate stages of make-before-break ({@link StagedChange}), and the policy handover between
 * the edge and the sidecars ({@link PolicyHandover}). Each step waits until the Envoys it went to
 * applied it, or the stage timeout passed (logged, as a stuck Envoy must not hold the fleet back).
 *
 * <p>It sends under the publisher's lock, the one that orders publications, and stops between two
 * steps when publishing is paused meanwhile.
 */
final class StagedPublishing {

  private static final Logger log = LoggerFactory.getLogger(StagedPublishing.class);

  /** How the steps before a publication ended. */
  enum Outcome {
    /** Every step was applied (or timed out): the publication itself may go. */
    DONE,
    /** Publishing was paused meanwhile: every Envoy holds one of the steps. */
    PAUSED,
    /**
     * A policy handover stopped (a group it counts on could not be made, or it was incomplete):
     * every group keeps what it holds until a publication goes through.
     */
    HELD
  }

  /** Where a route's policies are enforced: listeners (a sidecar's inbound routes) and routes. */
  private static final List<MakeBeforeBreak.Wait> APPLIED_POLICIES =
      List.of(
          new MakeBeforeBreak.Wait(ResourceType.LISTENER, Set.of()),
          new MakeBeforeBreak.Wait(ResourceType.ROUTE, Set.of()));

  private final Object publishLock;
  private final KeptGroups groups;
  private final SnapshotBuilder snapshots;
  private final DeliveryCheck deliveryCheck;
  private final EnvoyAnswers answers;

  /** Zero: every change is published in one step. */
  private final Duration stageTimeout;

  private final BooleanSupplier running;

  /** Whether publishing is paused; asked with {@link #publishLock} held. */
  private final BooleanSupplier paused;

  StagedPublishing(
      Object publishLock,
      KeptGroups groups,
      SnapshotBuilder snapshots,
      DeliveryCheck deliveryCheck,
      EnvoyAnswers answers,
      Duration stageTimeout,
      BooleanSupplier running,
      BooleanSupplier paused) {
    this.publishLock = publishLock;
    this.groups = groups;
    this.snapshots = snapshots;
    this.deliveryCheck = deliveryCheck;
    this.answers = answers;
    this.stageTimeout = stageTimeout;
    this.running = running;
    this.paused = paused;
  }

  /**
   * Takes every step before {@code next} may be sent to every group, coming from {@code published}
   * (null before the first publication): the policy handover, then the stages of the change.
   */
  Outcome before(FleetPublication published, FleetPublication next) {
    Outcome handover = handOverPolicies(published, next);
    if (handover != Outcome.DONE) {
      return handover;
    }
    return publishStages(next, () -> groups.reached(next)) ? Outcome.DONE : Outcome.PAUSED;
  }

  /**
   * Hands policies that move between the edge and sidecars over without a gap ({@link
   * PolicyHandover}): first the edge enforces them too (forwarding the token it verified), then the
   * sidecars, both still on the published state; then the change itself with both enforcing; then
   * the sidecars let go of what is the edge's now. The edge lets go of what is the sidecars' in the
   * publication that follows. Only with staging on: without Envoys to wait for, the steps would be
   * no safer than one. When publishing is paused meanwhile, every Envoy holds one of the steps,
   * each of which enforces every policy somewhere.
   */
  private Outcome handOverPolicies(FleetPublication published, FleetPublication next) {
    if (published == null || stageTimeout.isZero()) {
      return Outcome.DONE;
    }
    PolicyHandover handover = PolicyHandover.between(published.state(), next.state());
    if (handover.isEmpty()) {
      return Outcome.DONE;
    }
    FleetPublication bothOnPublished;
    FleetPublication bothOnNext;
    try {
      bothOnPublished =
          new FleetPublication(
              snapshots.build(published.state(), published.settings(), handover),
              published.state(),
              published.settings(),
              handover);
      bothOnNext =
          new FleetPublication(
              snapshots.build(next.state(), next.settings(), handover),
              next.state(),
              next.settings(),
              handover);
    } catch (SnapshotConsistencyException e) {
      log.error(
          "The policy handover of {} is incomplete; publishing waits for the next change: {}",
          handover.services(),
          e.getMessage());
      return Outcome.HELD;
    }
    log.info("Handing the policies of {} between the edge and their sidecars", handover.services());
    Predicate<String> sidecarGroups = SidecarSnapshots::isSidecarGroup;
    Outcome outcome = stepTo(bothOnPublished, sidecarGroups.negate());
    if (outcome == Outcome.DONE) {
      outcome = stepTo(bothOnPublished, sidecarGroups);
    }
    if (outcome == Outcome.DONE) {
      outcome = stepTo(bothOnNext, group -> true);
    }
    if (outcome == Outcome.DONE) {
      outcome = stepTo(next, sidecarGroups);
    }
    return outcome;
  }

  /**
   * Sends {@code target} to the groups {@code which} selects, staged, and waits until their Envoys
   * applied its listeners and routes.
   */
  private Outcome stepTo(FleetPublication target, Predicate<String> which) {
    synchronized (publishLock) {
      // Before anything of the step is sent, so that the handover stops between two steps.
      for (String group : groups.names()) {
        if (which.test(group)
            && groups.isConnected(group)
            && groups.sentBase(group) != null
            && countedOn(group, target.handover())
            && groups.madeFor(group, target) == null) {
          // Left on what it holds, this group might be the one the handover counts on to enforce
          // a policy the others stop enforcing: the handover stops on the last step, in which
          // every policy is enforced somewhere, as when publishing is paused.
          log.error(
              "The policy handover of {} stops: node group {} cannot be made its next step;"
                  + " publishing waits for the next change",
              target.handover().services(),
              group);
          return Outcome.HELD;
        }
      }
    }
    if (!publishStages(target, () -> groups.names().stream().filter(which).toList())) {
      return Outcome.PAUSED;
    }
    Map<String, StagedChange.GroupStage> sent = new LinkedHashMap<>();
    synchronized (publishLock) {
      if (paused.getAsBoolean()) {
        return Outcome.PAUSED;
      }
      for (String group : groups.names()) {
        if (which.test(group)) {
          // Another group that cannot be made keeps what it holds, as in any publication.
          ContentVersionedSnapshot base = groups.madeFor(group, target);
          if (base != null && base != groups.sentBase(group)) {
            groups.sendStep(group, base);
            sent.put(group, new StagedChange.GroupStage(base.forGroup(group), APPLIED_POLICIES));
          }
        }
      }
    }
    StagedChange.awaitApplied(sent, deliveryCheck, answers, stageTimeout, running);
    return Outcome.DONE;
  }

  /**
   * Whether a handover may count on {@code group} to enforce a policy: an edge group, or the
   * sidecars of a service handing its policies over. The sidecars of other services enforce none of
   * those.
   */
  private static boolean countedOn(String group, PolicyHandover handover) {
    return NodeGroups.sidecarService(group).map(handover.services()::contains).orElse(true);
  }

  /**
   * Sends the intermediate stages between what each group {@code which} names was sent and what it
   * is sent of {@code target} ({@link StagedChange}), waiting after each phase until the groups'
   * Envoys applied it (or the stage timeout passed). Returns false when publishing was paused
   * meanwhile. {@code which} is asked with the lock held: the groups the change may reach, of those
   * kept.
   */
  private boolean publishStages(
      FleetPublication target, java.util.function.Supplier<Collection<String>> which) {
    if (stageTimeout.isZero()) {
      return true;
    }
    StagedChange change;
    synchronized (publishLock) {
      // A group whose snapshot cannot be made is planned no stage: it stays where it is.
      change =
          StagedChange.plan(
              which.get(),
              groups::sentBase,
              group -> {
                ContentVersionedSnapshot base = groups.madeFor(group, target);
                return base != null ? base : groups.sentBase(group);
              });
    }
    for (MakeBeforeBreak.Phase phase :
        List.of(MakeBeforeBreak.Phase.ADD, MakeBeforeBreak.Phase.SWITCH)) {
      Map<String, StagedChange.GroupStage> stages = change.phase(phase);
      if (stages.isEmpty()) {
        continue;
      }
      synchronized (publishLock) {
        if (paused.getAsBoolean()) {
          return false;
        }
        stages.forEach((group, stage) -> groups.sendStage(group, stage.snapshot()));
      }
      StagedChange.awaitApplied(stages, deliveryCheck, answers, stageTimeout, running);
    }
    return true;
  }
}
