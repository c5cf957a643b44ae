package io.signalbox.cli;

import io.signalbox.admin.v1.RegistrationStatus;
import io.signalbox.admin.v1.ReleaseQuarantineRequest;
import io.signalbox.admin.v1.Service;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

@Command(
    name = "release",
    mixinStandardHelpOptions = true,
    description = {
      "Serves a quarantined service again (Envoy rejected its configuration).",
      "If Envoy still rejects it, it is quarantined again."
    })
final class Release extends AdminCommand {
  @Parameters(index = "0", paramLabel = "SERVICE")
  String service;

  @Override
  public Integer call() {
    Service released =
        root.call(
            admin ->
                admin.releaseQuarantine(
                    ReleaseQuarantineRequest.newBuilder().setService(service).build()));
    if (!root.printStructured(out(), released)) {
      out()
          .println(
              released.getStatus() == RegistrationStatus.ACTIVE
                  ? service + " is ACTIVE: Envoy is sent its configuration"
                  : service
                      + " is "
                      + released.getStatus().name()
                      + ": "
                      + released.getStatusReason());
      out().flush();
    }
    return SignalboxCtl.EXIT_OK;
  }
}
