package io.signalbox.cli;

import io.signalbox.admin.v1.Instance;
import io.signalbox.admin.v1.UndrainInstanceRequest;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

@Command(
    name = "undrain",
    mixinStandardHelpOptions = true,
    description = "Puts a drained instance back into load balancing.")
final class Undrain extends AdminCommand {
  @Parameters(index = "0", paramLabel = "SERVICE")
  String service;

  @Parameters(index = "1", paramLabel = "INSTANCE")
  String instance;

  @Override
  public Integer call() {
    Instance serving =
        root.call(
            admin ->
                admin.undrainInstance(
                    UndrainInstanceRequest.newBuilder()
                        .setService(service)
                        .setInstanceId(instance)
                        .build()));
    if (!root.printStructured(out(), serving)) {
      out().println("undrained " + service + "/" + instance);
      out().flush();
    }
    return SignalboxCtl.EXIT_OK;
  }
}
