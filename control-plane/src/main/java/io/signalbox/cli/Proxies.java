package io.signalbox.cli;

import io.signalbox.admin.v1.CutOffStream;
import io.signalbox.admin.v1.ListProxiesRequest;
import io.signalbox.admin.v1.ListProxiesResponse;
import io.signalbox.admin.v1.Proxy;
import io.signalbox.admin.v1.ResourceTypeStatus;
import io.signalbox.admin.v1.SyncStatus;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(
    name = "proxies",
    mixinStandardHelpOptions = true,
    description =
        "Connected Envoys: version per resource type sent and acknowledged, NACKs, sync status.")
final class Proxies extends AdminCommand {
  @Option(names = "--group", description = "Only Envoys of this node group.")
  String group = "";

  @Override
  public Integer call() {
    ListProxiesResponse response =
        root.call(
            admin -> admin.listProxies(ListProxiesRequest.newBuilder().setGroup(group).build()));
    if (root.printStructured(out(), response)) {
      return SignalboxCtl.EXIT_OK;
    }
    PrintWriter out = out();
    SignalboxCtl.printPushState(out, response.getPushes(), false);
    Table table =
        new Table(
            "NODE",
            "GROUP",
            "ROLE",
            "ENVOY",
            "XDS",
            "STATUS",
            "CONNECTED",
            "LISTENERS",
            "ROUTES",
            "CLUSTERS",
            "ENDPOINTS",
            "SECRETS",
            "CERT EXPIRES");
    List<String> nacks = new ArrayList<>();
    for (Proxy proxy : response.getProxiesList()) {
      Map<String, ResourceTypeStatus> types = new java.util.HashMap<>();
      proxy.getTypesList().forEach(type -> types.put(type.getType(), type));
      table.row(
          proxy.getNodeId(),
          proxy.getGroup(),
          proxy.getRole(),
          proxy.getEnvoyVersion(),
          proxy.getXdsMode().name().toLowerCase(Locale.ROOT),
          proxy.hasLaggingFor()
              ? "LAGGING " + Formats.duration(proxy.getLaggingFor())
              : proxy.getStatus().name(),
          Formats.ago(proxy.getConnectedSince()),
          typeCell(types.get("listeners")),
          typeCell(types.get("routes")),
          typeCell(types.get("clusters")),
          typeCell(types.get("endpoints")),
          typeCell(types.get("secrets")),
          proxy.hasCertificateExpires() ? Formats.in(proxy.getCertificateExpires()) : "-");
      for (ResourceTypeStatus type : proxy.getTypesList()) {
        // A rejection stays listed after Envoy accepted a later version (e.g. once the
        // registration that caused
        // it was quarantined), so that a short-lived one is not missed.
        if (type.hasLastNack()) {
          nacks.add(
              proxy.getNodeId()
                  + " rejected "
                  + type.getType()
                  + " "
                  + Formats.version(type.getLastNack().getVersion())
                  + " "
                  + Formats.ago(type.getLastNack().getAt())
                  + (type.getStatus() == SyncStatus.NACKED
                      ? ""
                      : ", runs " + Formats.version(type.getVersionAcked()) + " now")
                  + ": "
                  + type.getLastNack().getErrorDetail());
        }
      }
    }
    if (table.isEmpty()) {
      out.println("No Envoy is connected" + (group.isEmpty() ? "." : " in group '" + group + "'."));
    } else {
      table.print(out);
    }
    if (!nacks.isEmpty()) {
      out.println();
      nacks.forEach(out::println);
    }
    if (response.getCutOffCount() > 0) {
      out.println();
      for (CutOffStream cutOff : response.getCutOffList()) {
        out.println(
            cutOff.getNodeId()
                + " (group "
                + cutOff.getGroup()
                + ", stream "
                + cutOff.getStreamId()
                + ") cut off "
                + Formats.ago(cutOff.getAt())
                + " after lagging "
                + Formats.duration(cutOff.getLaggedFor()));
      }
    }
    out.flush();
    return SignalboxCtl.EXIT_OK;
  }

  /** The acknowledged version; what is pending or rejected, if anything. */
  private static String typeCell(ResourceTypeStatus type) {
    if (type == null) {
      return "-";
    }
    String acked =
        type.getVersionAcked().isEmpty() ? "none" : Formats.version(type.getVersionAcked());
    return switch (type.getStatus()) {
      case SYNCED -> acked;
      case STALE -> acked + " (sent " + Formats.version(type.getVersionSent()) + ")";
      case NACKED -> acked + " (NACK " + Formats.version(type.getLastNack().getVersion()) + ")";
      default -> "-";
    };
  }
}
