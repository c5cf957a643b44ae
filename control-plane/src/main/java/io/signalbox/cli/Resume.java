package io.signalbox.cli;

import io.signalbox.admin.v1.PushState;
import io.signalbox.admin.v1.ResumePushesRequest;
import picocli.CommandLine.Command;

@Command(
    name = "resume",
    mixinStandardHelpOptions = true,
    description = "Pushes configuration again, starting with everything that changed while paused.")
final class Resume extends AdminCommand {
  @Override
  public Integer call() {
    PushState state =
        root.call(admin -> admin.resumePushes(ResumePushesRequest.getDefaultInstance()));
    if (!root.printStructured(out(), state)) {
      SignalboxCtl.printPushState(out(), state, true);
    }
    return SignalboxCtl.EXIT_OK;
  }
}
