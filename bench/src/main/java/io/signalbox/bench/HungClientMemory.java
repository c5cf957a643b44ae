package io.signalbox.bench;

import io.grpc.ManagedChannel;
import io.signalbox.registry.v1.Instance;
import io.signalbox.registry.v1.PathMatch;
import io.signalbox.registry.v1.RegisterRequest;
import io.signalbox.registry.v1.RegistryGrpc;
import io.signalbox.registry.v1.Route;
import io.signalbox.testing.FakeAdsClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * What xDS clients that never read cost the control plane (issue 14): a control-plane process is
 * sent back-to-back registrations that each replace one service's 100 routes of about 1 KB (so
 * every registration changes a ~100 KB share of the route configuration), once with hung clients
 * connected and once without, alternately (A B B A); then its heap after a full GC. A client that
 * does not read must cost at most one response per type, never a queue of them.
 */
@Command(
    name = "hung-memory",
    mixinStandardHelpOptions = true,
    description =
        "Control-plane heap after a full GC, after N registrations of ~100 KB routes, with and "
            + "without xDS clients that never read.")
final class HungClientMemory implements Callable<Integer> {

  @Option(
      names = "--registrations",
      defaultValue = "1000",
      description = "Registrations per run. Default: ${DEFAULT-VALUE}")
  int registrations;

  @Option(
      names = "--services",
      defaultValue = "10",
      description = "Services the registrations go round. Default: ${DEFAULT-VALUE}")
  int services;

  @Option(
      names = "--hung",
      defaultValue = "1",
      description = "Never-reading clients in the runs with them. Default: ${DEFAULT-VALUE}")
  int hung;

  @Option(
      names = "--delta",
      defaultValue = "true",
      fallbackValue = "true",
      arity = "0..1",
      description = "Hung clients on delta (else SotW) ADS. Default: ${DEFAULT-VALUE}")
  boolean delta;

  @Option(
      names = "--alternations",
      defaultValue = "2",
      description = "Pairs of runs, in the order A B, B A, ... Default: ${DEFAULT-VALUE}")
  int alternations;

  @Option(names = "--cp-jvm-opt", description = "JVM option for the control plane (repeatable).")
  List<String> cpJvmOptions = new ArrayList<>(List.of("-Xmx1g"));

  @Override
  public Integer call() throws Exception {
    System.out.println("HungClientMemory: " + Jvm.describeHost());
    Path workDir =
        Path.of(
                "target/bench-runs",
                "hung-memory-"
                    + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")))
            .toAbsolutePath();
    Files.createDirectories(workDir);
    ResultTable table =
        new ResultTable(
            String.format(
                "Control-plane heap after jcmd GC.run, after %,d registrations of 100 routes "
                    + "(~100 KB) each over %d services, back to back",
                registrations, services),
            "run",
            "hung clients",
            "registrations/s",
            "heap used MiB",
            "RSS MiB");
    List<Double> withHung = new ArrayList<>();
    List<Double> without = new ArrayList<>();
    int run = 0;
    for (int pair = 0; pair < alternations; pair++) {
      for (boolean hungFirst : new boolean[] {pair % 2 == 1, pair % 2 == 0}) {
        int clients = hungFirst ? hung : 0;
        run++;
        try (ControlPlaneProcess controlPlane =
            ControlPlaneProcess.start(workDir.resolve("cp-" + run + ".log"), cpJvmOptions)) {
          List<FakeAdsClient> hungClients = new ArrayList<>();
          for (int i = 0; i < clients; i++) {
            hungClients.add(
                FakeAdsClient.neverReading(
                    controlPlane.grpcPort(), FakeAdsClient.node("hung-" + i, "edge"), delta));
          }
          double perSecond = registerAll(controlPlane);
          ControlPlaneProcess.HeapInfo heap = controlPlane.heapAfterGc();
          table.row(
              String.valueOf(run),
              String.valueOf(clients),
              String.format("%,.0f", perSecond),
              String.format("%.1f", heap.usedMib()),
              String.format("%.1f", controlPlane.rssKib() / 1024.0));
          (clients > 0 ? withHung : without).add(heap.usedMib());
          hungClients.forEach(FakeAdsClient::close);
        }
      }
    }
    table.print(System.out);
    double ratio = mean(withHung) / mean(without);
    System.out.printf(
        "%nheap after full GC with %d hung %s client(s) / without: %.3f (mean of %d runs each; "
            + "target <= 1.10)%n",
        hung, delta ? "delta" : "SotW", ratio, withHung.size());
    return 0;
  }

  private double registerAll(ControlPlaneProcess controlPlane) {
    ManagedChannel channel = controlPlane.channel().build();
    try {
      RegistryGrpc.RegistryBlockingStub registry = RegistryGrpc.newBlockingStub(channel);
      long started = System.nanoTime();
      for (int i = 0; i < registrations; i++) {
        registry.withDeadlineAfter(30, TimeUnit.SECONDS).register(request(i));
      }
      return registrations / ((System.nanoTime() - started) / 1e9);
    } finally {
      channel.shutdownNow();
    }
  }

  /** One service's 100 routes of ~1 KB each, different at every registration. */
  private RegisterRequest request(int i) {
    String service = "svc-" + (i % services);
    RegisterRequest.Builder request =
        RegisterRequest.newBuilder()
            .setService(service)
            .setInstance(
                Instance.newBuilder().setId(service + "-1").setHost("10.0.0.1").setPort(8080));
    String filler = "x".repeat(1000);
    for (int route = 0; route < 100; route++) {
      request.addRoutes(
          Route.newBuilder()
              .setPath(
                  PathMatch.newBuilder()
                      .setPrefix("/" + service + "/" + i + "/" + route + "/" + filler)));
    }
    return request.build();
  }

  private static double mean(List<Double> values) {
    return values.stream().mapToDouble(Double::doubleValue).average().orElse(Double.NaN);
  }
}
