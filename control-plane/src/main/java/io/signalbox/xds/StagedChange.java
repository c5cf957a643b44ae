package io.signalbox.xds;

import io.signalbox.envoy.XdsTypes;
import java.util.ArrayList;
import java.util.Collection;
import java.util.EnumMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The intermediate snapshots of one staged change ({@link MakeBeforeBreak}) for every node group,
 * by phase. Each group steps from the snapshot it was sent to the one it will be sent: an edge
 * group through the fleet's stages (its zone's view of them, and its own workload certificate in
 * sidecar mode), a sidecar group through its own, which differ from the fleet's (its own listeners
 * and outbound routes, its scope). The stages of one pair of snapshots are made once for all groups
 * that share it. Every group that adds something does so in {@link MakeBeforeBreak.Phase#ADD}, and
 * only then does any group switch routes to it.
 */
final class StagedChange {

  private static final Logger log = LoggerFactory.getLogger(StagedChange.class);

  /** A group's snapshot for one phase, and what its Envoys must have applied before the next. */
  record GroupStage(ContentVersionedSnapshot snapshot, List<MakeBeforeBreak.Wait> waitFor) {}

  /** The stages between two snapshots, each made once. */
  private record PairStage(
      MakeBeforeBreak.Phase phase,
      ContentVersionedSnapshot snapshot,
      List<MakeBeforeBreak.Wait> waitFor) {}

  private final Map<MakeBeforeBreak.Phase, Map<String, GroupStage>> phases =
      new EnumMap<>(MakeBeforeBreak.Phase.class);

  private StagedChange() {}

  /**
   * The stages for {@code groups} from the snapshot each was sent ({@code sent}; null for a group
   * sent nothing yet, which has nothing to stage) to the one it will be sent ({@code next}); both
   * before the group's zone view is taken ({@link ContentVersionedSnapshot#forGroup}).
   */
  static StagedChange plan(
      Collection<String> groups,
      Function<String, ContentVersionedSnapshot> sent,
      Function<String, ContentVersionedSnapshot> next) {
    StagedChange change = new StagedChange();
    Map<ContentVersionedSnapshot, Map<ContentVersionedSnapshot, List<PairStage>>> pairs =
        new IdentityHashMap<>();
    for (String group : groups) {
      ContentVersionedSnapshot from = sent.apply(group);
      if (from == null) {
        // Never sent anything: nothing to stage from (and nothing to make for it here).
        continue;
      }
      ContentVersionedSnapshot to = next.apply(group);
      if (from == to) {
        continue;
      }
      List<PairStage> stages =
          pairs
              .computeIfAbsent(from, f -> new IdentityHashMap<>())
              .computeIfAbsent(to, t -> stages(from, to));
      for (PairStage stage : stages) {
        change.add(
            stage.phase(),
            group,
            new GroupStage(stage.snapshot().forGroup(group), stage.waitFor()));
      }
    }
    return change;
  }

  private static List<PairStage> stages(
      ContentVersionedSnapshot from, ContentVersionedSnapshot to) {
    List<PairStage> stages = new ArrayList<>();
    for (MakeBeforeBreak.Stage stage :
        intermediate(MakeBeforeBreak.stages(from.resources(), to.resources()))) {
      stages.add(
          new PairStage(
              stage.phase(),
              ContentVersionedSnapshot.of(stage.resources(), from, to),
              stage.waitFor()));
    }
    return stages;
  }

  /** Each group's snapshot for {@code phase}, for the groups that have a step there. */
  Map<String, GroupStage> phase(MakeBeforeBreak.Phase phase) {
    return phases.getOrDefault(phase, Map.of());
  }

  /**
   * Waits until the Envoys of every group applied its stage, or {@code timeout} passed (then logs
   * and gives up waiting, as a stuck Envoy must not hold the change back), or {@code running} turns
   * false.
   */
  static void awaitApplied(
      Map<String, GroupStage> stages,
      DeliveryCheck check,
      EnvoyAnswers answers,
      java.time.Duration timeout,
      BooleanSupplier running) {
    long deadline = System.nanoTime() + timeout.toNanos();
    answers.startWaiting();
    try {
      for (Map.Entry<String, GroupStage> entry : stages.entrySet()) {
        String group = entry.getKey();
        for (MakeBeforeBreak.Wait wait : entry.getValue().waitFor()) {
          while (true) {
            long seen = answers.seen();
            ContentVersionedSnapshot snapshot = entry.getValue().snapshot();
            if (wait.until() == MakeBeforeBreak.Until.DELIVERED
                ? check.delivered(group, wait.type(), wait.required(), snapshot)
                : check.applied(group, wait.type(), wait.required(), snapshot)) {
              break;
            }
            long left = deadline - System.nanoTime();
            if (left <= 0 || !running.getAsBoolean()) {
              log.warn(
                  "Envoys of group '{}' did not apply {} of a staged change within {} ms;"
                      + " continuing",
                  group,
                  XdsTypes.shortName(wait.type()),
                  timeout.toMillis());
              return;
            }
            answers.awaitAfter(seen, left);
          }
        }
      }
    } catch (InterruptedException e) {
      // Closing: the publication goes on without waiting, as with a stopped pipeline.
      Thread.currentThread().interrupt();
    } finally {
      answers.stopWaiting();
    }
  }

  private void add(MakeBeforeBreak.Phase phase, String group, GroupStage stage) {
    phases.computeIfAbsent(phase, p -> new LinkedHashMap<>()).put(group, stage);
  }

  private static List<MakeBeforeBreak.Stage> intermediate(List<MakeBeforeBreak.Stage> stages) {
    return stages.subList(0, stages.size() - 1);
  }
}
