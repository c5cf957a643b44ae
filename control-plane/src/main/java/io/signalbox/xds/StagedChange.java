package io.signalbox.xds;

import io.signalbox.envoy.XdsTypes;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The intermediate snapshots of one staged change ({@link MakeBeforeBreak}) for every node group,
 * by phase: edge groups step through the fleet's stages (each group its zone's view of them); a
 * sidecar group through the stages from the sidecar snapshot it was sent to the one it will be
 * sent, which differ from the fleet's (its own listeners and outbound routes, its scope). Every
 * group that adds something does so in {@link MakeBeforeBreak.Phase#ADD}, and only then does any
 * group switch routes to it.
 */
final class StagedChange {

  private static final Logger log = LoggerFactory.getLogger(StagedChange.class);

  /**
   * How often a staged change checks whether Envoys applied it; ACKs arrive within about a
   * millisecond.
   */
  private static final long POLL_NANOS = TimeUnit.MICROSECONDS.toNanos(200);

  /** A group's snapshot for one phase, and what its Envoys must have applied before the next. */
  record GroupStage(ContentVersionedSnapshot snapshot, List<MakeBeforeBreak.Wait> waitFor) {}

  private final Map<MakeBeforeBreak.Phase, Map<String, GroupStage>> phases =
      new EnumMap<>(MakeBeforeBreak.Phase.class);

  private StagedChange() {}

  /**
   * The stages from {@code from} to {@code to} (the fleet's snapshots) for {@code groups}; {@code
   * sidecarFrom} and {@code sidecarTo} give a sidecar group's own snapshots for each.
   */
  static StagedChange plan(
      List<String> groups,
      ContentVersionedSnapshot from,
      ContentVersionedSnapshot to,
      Function<String, ContentVersionedSnapshot> sidecarFrom,
      Function<String, ContentVersionedSnapshot> sidecarTo) {
    StagedChange change = new StagedChange();
    Map<MakeBeforeBreak.Phase, ContentVersionedSnapshot> fleetStages =
        new EnumMap<>(MakeBeforeBreak.Phase.class);
    List<MakeBeforeBreak.Stage> fleet = MakeBeforeBreak.stages(from.resources(), to.resources());
    for (MakeBeforeBreak.Stage stage : intermediate(fleet)) {
      fleetStages.put(stage.phase(), ContentVersionedSnapshot.of(stage.resources(), from, to));
    }
    for (String group : groups) {
      if (SidecarSnapshots.isSidecarGroup(group)) {
        ContentVersionedSnapshot sentBefore = sidecarFrom.apply(group);
        ContentVersionedSnapshot sentAfter = sidecarTo.apply(group);
        if (sentBefore == sentAfter) {
          continue;
        }
        for (MakeBeforeBreak.Stage stage :
            intermediate(MakeBeforeBreak.stages(sentBefore.resources(), sentAfter.resources()))) {
          change.add(
              stage.phase(),
              group,
              new GroupStage(
                  ContentVersionedSnapshot.of(stage.resources(), sentBefore, sentAfter),
                  stage.waitFor()));
        }
      } else {
        for (MakeBeforeBreak.Stage stage : intermediate(fleet)) {
          change.add(
              stage.phase(),
              group,
              new GroupStage(fleetStages.get(stage.phase()).forGroup(group), stage.waitFor()));
        }
      }
    }
    return change;
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
      java.time.Duration timeout,
      BooleanSupplier running) {
    long deadline = System.nanoTime() + timeout.toNanos();
    for (Map.Entry<String, GroupStage> entry : stages.entrySet()) {
      String group = entry.getKey();
      for (MakeBeforeBreak.Wait wait : entry.getValue().waitFor()) {
        while (!check.applied(group, wait.type(), wait.required(), entry.getValue().snapshot())) {
          if (System.nanoTime() - deadline > 0 || !running.getAsBoolean()) {
            log.warn(
                "Envoys of group '{}' did not apply {} of a staged change within {} ms; continuing",
                group,
                XdsTypes.shortName(wait.type()),
                timeout.toMillis());
            return;
          }
          LockSupport.parkNanos(POLL_NANOS);
        }
      }
    }
  }

  private void add(MakeBeforeBreak.Phase phase, String group, GroupStage stage) {
    phases.computeIfAbsent(phase, p -> new LinkedHashMap<>()).put(group, stage);
  }

  private static List<MakeBeforeBreak.Stage> intermediate(List<MakeBeforeBreak.Stage> stages) {
    return stages.subList(0, stages.size() - 1);
  }
}
