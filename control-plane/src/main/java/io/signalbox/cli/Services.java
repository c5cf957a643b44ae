package io.signalbox.cli;

import io.signalbox.admin.v1.Instance;
import io.signalbox.admin.v1.ListServicesRequest;
import io.signalbox.admin.v1.ListServicesResponse;
import io.signalbox.admin.v1.Service;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Command;

@Command(
    name = "services",
    mixinStandardHelpOptions = true,
    description = "Registered services and their instances: state, address, lease time left.")
final class Services extends AdminCommand {
  @Override
  public Integer call() {
    ListServicesResponse response =
        root.call(admin -> admin.listServices(ListServicesRequest.getDefaultInstance()));
    if (root.printStructured(out(), response)) {
      return SignalboxCtl.EXIT_OK;
    }
    Table table =
        new Table(
            "SERVICE",
            "STATUS",
            "INSTANCE",
            "ADDRESS",
            "ZONE",
            "WEIGHT",
            "STATE",
            "LEASE LEFT",
            "ROUTES");
    List<String> reasons = new ArrayList<>();
    for (Service service : response.getServicesList()) {
      String status = service.getStatus().name();
      if (!service.getStatusReason().isEmpty()) {
        // Envoy's errors are long: below the table, not in it.
        reasons.add(
            service.getName()
                + " "
                + status
                + (service.hasStatusSince()
                    ? " since " + Formats.ago(service.getStatusSince())
                    : "")
                + ": "
                + service.getStatusReason());
      }
      for (Instance instance : service.getInstancesList()) {
        String state =
            instance.getState().name()
                + (instance.hasEvictAt()
                    ? " (evict " + Formats.in(instance.getEvictAt()) + ")"
                    : "");
        table.row(
            service.getName(),
            status,
            instance.getId(),
            instance.getHost().equals(instance.getAddress())
                ? instance.getAddress() + ":" + instance.getPort()
                : instance.getHost() + " (" + instance.getAddress() + "):" + instance.getPort(),
            instance.getZone(),
            instance.getWeight(),
            state,
            Formats.duration(instance.getLeaseRemaining()),
            service.getRoutesCount());
      }
    }
    if (table.isEmpty()) {
      out().println("No service is registered.");
    } else {
      table.print(out());
    }
    if (!reasons.isEmpty()) {
      out().println();
      reasons.forEach(out()::println);
    }
    out().flush();
    return SignalboxCtl.EXIT_OK;
  }
}
