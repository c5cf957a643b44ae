package io.signalbox.cli;

import io.signalbox.admin.v1.EvictRequest;
import io.signalbox.admin.v1.EvictResponse;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

@Command(
    name = "evict",
    mixinStandardHelpOptions = true,
    description = {
      "Deregisters one instance, or every instance of a service, in one step.",
      "An SDK-managed instance whose process still runs registers again; stop the process (or drain it)."
    })
final class Evict extends AdminCommand {
  @Parameters(index = "0", paramLabel = "SERVICE")
  String service;

  @Parameters(
      index = "1",
      paramLabel = "INSTANCE",
      arity = "0..1",
      description = "Default: every instance.")
  String instance;

  @Override
  public Integer call() {
    EvictResponse response =
        root.call(
            admin ->
                admin.evict(
                    EvictRequest.newBuilder()
                        .setService(service)
                        .setInstanceId(instance == null ? "" : instance)
                        .build()));
    if (!root.printStructured(out(), response)) {
      out().println("evicted " + service + ": " + String.join(", ", response.getInstanceIdsList()));
      out().flush();
    }
    return SignalboxCtl.EXIT_OK;
  }
}
