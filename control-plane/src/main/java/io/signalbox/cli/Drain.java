package io.signalbox.cli;

import io.signalbox.admin.v1.DrainInstanceRequest;
import io.signalbox.admin.v1.Instance;
import io.signalbox.server.SignalboxMain;
import java.time.Duration;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(
    name = "drain",
    mixinStandardHelpOptions = true,
    description = {
      "Takes an instance out of load balancing: its endpoint leaves EDS at once (Envoy finishes "
          + "requests in flight), its lease stays, and it stays out for as long as that lease lives.",
      "Envoy rejects an endpoint weight of 0, so draining removes the endpoint rather than weighting it 0."
    })
final class Drain extends AdminCommand {
  @Parameters(index = "0", paramLabel = "SERVICE")
  String service;

  @Parameters(index = "1", paramLabel = "INSTANCE")
  String instance;

  @Option(
      names = "--evict-after",
      paramLabel = "DURATION",
      converter = SignalboxMain.DurationConverter.class,
      description =
          "Also deregister the instance this long after draining (unless undrained meanwhile). An "
              + "SDK-managed instance whose process still runs registers again after that.")
  Duration evictAfter;

  @Override
  public Integer call() {
    DrainInstanceRequest.Builder request =
        DrainInstanceRequest.newBuilder().setService(service).setInstanceId(instance);
    if (evictAfter != null) {
      request.setEvictAfter(com.google.protobuf.util.Durations.fromNanos(evictAfter.toNanos()));
    }
    Instance drained = root.call(admin -> admin.drainInstance(request.build()));
    if (!root.printStructured(out(), drained)) {
      out()
          .println(
              "drained "
                  + service
                  + "/"
                  + instance
                  + (drained.hasEvictAt()
                      ? "; evicting it " + Formats.in(drained.getEvictAt())
                      : ""));
      out().flush();
    }
    return SignalboxCtl.EXIT_OK;
  }
}
