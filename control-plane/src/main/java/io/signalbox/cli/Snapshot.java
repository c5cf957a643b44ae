package io.signalbox.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.signalbox.admin.v1.GetSnapshotRequest;
import io.signalbox.admin.v1.GetSnapshotResponse;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(
    name = "snapshot",
    mixinStandardHelpOptions = true,
    description =
        "The resources a node or node group is sent (private keys redacted). As a table: type, name "
            + "and version of each; -o json or -o yaml for the resources themselves.")
final class Snapshot extends AdminCommand {
  @Parameters(paramLabel = "NODE|GROUP", description = "A connected node id, or else a node group.")
  String target;

  @Option(
      names = "--type",
      description = "Only this type: listeners, routes, clusters, endpoints, secrets.")
  String type = "";

  @Option(names = "--name", description = "Only the resource of this name.")
  String name = "";

  @Override
  public Integer call() {
    GetSnapshotResponse response = fetch();
    PrintWriter out = out();
    if (root.output != SignalboxCtl.Format.table) {
      ObjectNode tree =
          SignalboxCtl.JSON
              .createObjectNode()
              .put("group", response.getGroup())
              .put("version", response.getVersion());
      ObjectNode typeVersions = tree.putObject("typeVersions");
      new java.util.TreeMap<>(response.getTypeVersionsMap()).forEach(typeVersions::put);
      ArrayNode resources = tree.putArray("resources");
      response
          .getResourcesList()
          .forEach(
              resource -> {
                ObjectNode entry =
                    resources
                        .addObject()
                        .put("type", resource.getType())
                        .put("name", resource.getName())
                        .put("version", resource.getVersion());
                try {
                  entry.set("resource", SignalboxCtl.JSON.readTree(resource.getJson()));
                } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                  throw new UncheckedIOException(e);
                }
              });
      root.printTree(out, tree);
      return SignalboxCtl.EXIT_OK;
    }
    out.println(
        "group "
            + response.getGroup()
            + ", snapshot "
            + response.getVersion()
            + "; type versions: "
            + response.getTypeVersionsMap().entrySet().stream()
                .sorted(Map.Entry.comparingByKey())
                .map(e -> e.getKey() + " " + Formats.version(e.getValue()))
                .collect(java.util.stream.Collectors.joining(", ")));
    Table table = new Table("TYPE", "NAME", "VERSION");
    response.getResourcesList().forEach(r -> table.row(r.getType(), r.getName(), r.getVersion()));
    table.print(out);
    return SignalboxCtl.EXIT_OK;
  }

  /** As a node first; a name that is no connected node is tried as a group. */
  private GetSnapshotResponse fetch() {
    GetSnapshotRequest.Builder request =
        GetSnapshotRequest.newBuilder().setType(type).setName(name);
    try {
      return root.call(admin -> admin.getSnapshot(request.clone().setNodeId(target).build()));
    } catch (StatusRuntimeException e) {
      if (e.getStatus().getCode() != Status.Code.NOT_FOUND
          || !String.valueOf(e.getStatus().getDescription()).startsWith("node ")) {
        throw e;
      }
    }
    try {
      return root.call(admin -> admin.getSnapshot(request.clone().setGroup(target).build()));
    } catch (StatusRuntimeException e) {
      if (e.getStatus().getCode() == Status.Code.NOT_FOUND
          && String.valueOf(e.getStatus().getDescription()).startsWith("group ")) {
        throw Status.NOT_FOUND
            .withDescription(
                "'"
                    + target
                    + "' is neither a connected node nor a known group ("
                    + e.getStatus().getDescription()
                    + ")")
            .asRuntimeException();
      }
      throw e;
    }
  }
}
