package io.signalbox.cli;

import io.signalbox.admin.v1.HistoryEntry;
import io.signalbox.admin.v1.HistoryRequest;
import io.signalbox.admin.v1.HistoryResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(
    name = "history",
    mixinStandardHelpOptions = true,
    description =
        "Published snapshot versions, newest first: what each changed and which services caused it.")
final class History extends AdminCommand {
  @Option(
      names = {"-n", "--limit"},
      description = "At most this many entries. Default: ${DEFAULT-VALUE}")
  int limit = 20;

  @Override
  public Integer call() {
    if (limit < 1) {
      throw new CommandLine.ParameterException(
          spec.commandLine(), "--limit must be at least 1, was " + limit);
    }
    HistoryResponse response =
        root.call(admin -> admin.history(HistoryRequest.newBuilder().setLimit(limit).build()));
    if (root.printStructured(out(), response)) {
      return SignalboxCtl.EXIT_OK;
    }
    Table table = new Table("VERSION", "PUBLISHED", "CAUSE", "CHANGES");
    for (HistoryEntry entry : response.getEntriesList()) {
      List<String> causes = new ArrayList<>();
      entry
          .getServicesList()
          .forEach(
              change ->
                  causes.add(
                      change.getService()
                          + " "
                          + change.getKind().name().toLowerCase(Locale.ROOT)
                          + (change.getChangedBy().isEmpty()
                              ? ""
                              : " (" + change.getChangedBy() + ")")));
      if (entry.getSettingsChanged()) {
        causes.add("settings");
      }
      if (entry.getInitial()) {
        causes.add("start");
      }
      table.row(
          entry.getVersion(),
          Formats.ago(entry.getPublishedAt()),
          String.join(", ", causes),
          Formats.changes(entry.getChangesList()));
    }
    if (table.isEmpty()) {
      out().println("Nothing has been published yet.");
    } else {
      table.print(out());
    }
    out().flush();
    return SignalboxCtl.EXIT_OK;
  }
}
