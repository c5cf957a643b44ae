package io.signalbox.cli;

import io.signalbox.admin.v1.DiffSnapshotsRequest;
import io.signalbox.admin.v1.DiffSnapshotsResponse;
import io.signalbox.admin.v1.ResourceChanges;
import java.io.PrintWriter;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(
    name = "diff",
    mixinStandardHelpOptions = true,
    description =
        "Resource names added, removed and modified between two snapshot versions of the history "
            + "(a unique prefix of at least 4 characters will do).")
final class Diff extends AdminCommand {
  @Parameters(index = "0", paramLabel = "FROM")
  String from;

  @Parameters(index = "1", paramLabel = "TO")
  String to;

  @Option(
      names = "--group",
      description = "A node group (all groups are currently sent the same snapshots).")
  String group = "";

  @Override
  public Integer call() {
    DiffSnapshotsResponse response =
        root.call(
            admin ->
                admin.diffSnapshots(
                    DiffSnapshotsRequest.newBuilder()
                        .setGroup(group)
                        .setFromVersion(from)
                        .setToVersion(to)
                        .build()));
    if (root.printStructured(out(), response)) {
      return SignalboxCtl.EXIT_OK;
    }
    PrintWriter out = out();
    out.println(response.getFromVersion() + " -> " + response.getToVersion());
    if (response.getChangesCount() == 0) {
      out.println("no differences");
    }
    for (ResourceChanges changes : response.getChangesList()) {
      out.println(changes.getType() + ":");
      changes.getAddedList().forEach(name -> out.println("  + " + name));
      changes.getRemovedList().forEach(name -> out.println("  - " + name));
      changes.getModifiedList().forEach(name -> out.println("  ~ " + name));
    }
    out.flush();
    return SignalboxCtl.EXIT_OK;
  }
}
