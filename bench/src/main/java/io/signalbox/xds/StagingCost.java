package io.signalbox.xds;

import java.util.List;

/**
 * The bench's way to the staging of a change ({@link StagedChange}, {@link MakeBeforeBreak}), which
 * is the xds stage's own and not public: this class sits in the stage's package to time it as the
 * publisher runs it, without widening the stage's interface for a benchmark.
 */
public final class StagingCost {

  private StagingCost() {}

  /**
   * Plans the staged change of one node group from {@code from} to {@code to}, as the publisher
   * does before it sets the first stage; returns how many intermediate stages it has.
   */
  public static int plan(ContentVersionedSnapshot from, ContentVersionedSnapshot to) {
    StagedChange change = StagedChange.plan(List.of("edge"), group -> from, group -> to);
    int stages = 0;
    for (MakeBeforeBreak.Phase phase : MakeBeforeBreak.Phase.values()) {
      stages += change.phase(phase).size();
    }
    return stages;
  }
}
