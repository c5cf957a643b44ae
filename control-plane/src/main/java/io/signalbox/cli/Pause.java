package io.signalbox.cli;

import io.signalbox.admin.v1.PausePushesRequest;
import io.signalbox.admin.v1.PushState;
import picocli.CommandLine.Command;

@Command(
    name = "pause",
    mixinStandardHelpOptions = true,
    description =
        "Stops pushing configuration: Envoys keep what they have; registrations are still accepted "
            + "and reach Envoy on resume.")
final class Pause extends AdminCommand {
  @Override
  public Integer call() {
    PushState state =
        root.call(admin -> admin.pausePushes(PausePushesRequest.getDefaultInstance()));
    if (!root.printStructured(out(), state)) {
      SignalboxCtl.printPushState(out(), state, true);
    }
    return SignalboxCtl.EXIT_OK;
  }
}
