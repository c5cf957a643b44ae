package io.signalbox.bench;

import com.google.protobuf.Duration;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.grpc.ManagedChannel;
import io.signalbox.registry.v1.Instance;
import io.signalbox.registry.v1.PathMatch;
import io.signalbox.registry.v1.RegisterRequest;
import io.signalbox.registry.v1.RegistryGrpc;
import io.signalbox.registry.v1.Route;
import io.signalbox.testing.EnvoyProcess;
import io.signalbox.testing.FakeAdsClient;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * xDS fan-out: N simulated Envoys on delta ADS ({@link DeltaXdsClient}, the default) or SotW ADS
 * ({@link SotwXdsClient}, {@code --xds SOTW}), one control plane in its own JVM. Each round
 * registers a new instance of an existing service and times how long until the last client has the
 * changed ClusterLoadAssignment; afterwards the control plane's heap (after a full GC) and RSS with
 * N clients connected.
 */
@Command(
    name = "delta-fanout",
    aliases = "DeltaFanout",
    mixinStandardHelpOptions = true,
    description =
        "xDS fan-out latency to N simulated delta or SotW ADS clients, and control-plane heap/RSS"
            + " per N.")
final class DeltaFanout implements Callable<Integer> {

  private static final String NODE_CLUSTER = "edge";

  @Option(
      names = "--clients",
      split = ",",
      defaultValue = "100,1000",
      description = "Client counts to run, one fresh control plane each. Default: ${DEFAULT-VALUE}")
  List<Integer> clientCounts;

  @Option(
      names = "--xds",
      defaultValue = "DELTA",
      description =
          "ADS flavour of the simulated clients: DELTA (DeltaAggregatedResources) or SOTW"
              + " (StreamAggregatedResources, state of the world). Default: ${DEFAULT-VALUE}")
  EnvoyProcess.XdsMode xds;

  @Option(
      names = "--rounds",
      defaultValue = "50",
      description = "Measured rounds per client count. Default: ${DEFAULT-VALUE}")
  int rounds;

  @Option(
      names = "--warmup",
      defaultValue = "5",
      description = "Rounds run first and discarded. Default: ${DEFAULT-VALUE}")
  int warmup;

  @Option(
      names = "--services",
      defaultValue = "100",
      description =
          "Services registered before clients connect (one instance and one route each). "
              + "Default: ${DEFAULT-VALUE}")
  int services;

  @Option(
      names = "--instances",
      defaultValue = "1",
      description =
          "Instances registered per service before clients connect. Default: ${DEFAULT-VALUE}")
  int instancesPerService;

  @Option(
      names = "--channels",
      defaultValue = "0",
      description =
          "gRPC channels (HTTP/2 connections) the clients are spread over; 0 gives every client its"
              + " own, as a fleet of Envoys has (multiplexing hides per-connection cost)."
              + " Default: ${DEFAULT-VALUE}")
  int channels;

  @Option(
      names = "--pause-ms",
      defaultValue = "0",
      description =
          "Pause between rounds. 0 runs them back to back: the next change follows as soon as the"
              + " last client has the previous one, so queueing shows. Default: ${DEFAULT-VALUE}")
  int pauseMs;

  @Option(
      names = "--changes-per-round",
      defaultValue = "1",
      description =
          "With --change INSTANCE: instances registered back to back in each round, each to the"
              + " next service, without waiting for the clients in between; the round ends when"
              + " every client has the last. Above 1 the clients answer one change while the next"
              + " is published, as a fleet does under a steady stream of registrations."
              + " Default: ${DEFAULT-VALUE}")
  int changesPerRound;

  @Option(
      names = "--round-timeout-ms",
      defaultValue = "10000",
      description = "Give up on a round after this long. Default: ${DEFAULT-VALUE}")
  int roundTimeoutMs;

  @Option(
      names = "--connect-batch",
      defaultValue = "100",
      description =
          "Clients opened at a time while connecting (each batch waits for its initial CDS+EDS). "
              + "Default: ${DEFAULT-VALUE}")
  int connectBatch;

  @Option(
      names = "--settle-ms",
      defaultValue = "3000",
      description =
          "Wait after all clients are connected, before the rounds. Default: ${DEFAULT-VALUE}")
  int settleMs;

  @Option(
      names = "--idle-ms",
      defaultValue = "3000",
      description =
          "How long, after the rounds, the control plane's idle CPU rate (N clients connected, no changes) "
              + "is measured. Default: ${DEFAULT-VALUE}")
  int idleMs;

  @Option(
      names = "--cp-jvm-opt",
      description =
          "Extra JVM option for the control-plane process (repeatable), e.g. --cp-jvm-opt=-Xmx512m.")
  List<String> cpJvmOptions = new ArrayList<>();

  @Option(
      names = "--stuck",
      defaultValue = "0",
      description =
          "Clients besides --clients, each on its own connection, that ask for clusters, listeners and "
              + "routes and never read a response (issue 14); connected once the others are in sync, and "
              + "not waited for. Default: ${DEFAULT-VALUE}")
  int stuck;

  @Option(
      names = "--sidecars",
      description =
          "The clients are sidecars (issue 16): client i is a sidecar of the service fan-(i mod"
              + " services), and each service calls the next --calls services (registrations"
              + " declare calls, so its sidecars hold only those). A round's change counts for"
              + " the sidecars of the services that call the changed one; any other sidecar that"
              + " gets it is reported. Delta only; no baseline (the bare server has no sidecars).")
  boolean sidecars;

  /** What each round changes. */
  enum Change {
    INSTANCE,
    ROUTE
  }

  @Option(
      names = "--change",
      defaultValue = "INSTANCE",
      description =
          "What each round changes: INSTANCE (a new instance of one service: one load assignment"
              + " to every client) or ROUTE (one service's route prefix, re-registered: the one"
              + " RouteConfiguration of every service's routes to every client, which then also"
              + " subscribe to it). ROUTE is delta only, without the baseline (the bare server"
              + " serves no routes). Default: ${DEFAULT-VALUE}")
  Change change;

  @Option(
      names = "--calls",
      defaultValue = "2",
      description = "With --sidecars: services each service calls. Default: ${DEFAULT-VALUE}")
  int callsPerService;

  @Option(
      names = "--node",
      defaultValue = "ENVOY",
      description =
          "What the simulated Envoys say of themselves: ENVOY, as Envoy 1.40 does (the list of its"
              + " 516 extensions, 61 KB), or MINIMAL (id, cluster and metadata; the node of the"
              + " figures before 2026-12-08). Default: ${DEFAULT-VALUE}")
  EnvoyNodes nodes;

  @Option(
      names = "--node-every-request",
      description =
          "Clients of Signalbox send their node in every request, as clients of the bare server do"
              + " (java-control-plane reads each request's node). Without it they send it in each"
              + " stream's first request only, as Signalbox's bootstraps have Envoy do.")
  boolean nodeEveryRequest;

  @Option(
      names = "--no-baseline",
      description =
          "Skip the bare java-control-plane server (BareJavaControlPlane). Without this, it runs with"
              + " the same services and clients, alternately with Signalbox, and the results are"
              + " reported as Signalbox / bare ratios.")
  boolean noBaseline;

  @Option(
      names = "--alternations",
      defaultValue = "2",
      description =
          "Runs of each server per client count, alternating Signalbox and bare (each a fresh"
              + " process), so that drift on the machine hits both. Default: ${DEFAULT-VALUE}")
  int alternations;

  @Option(
      names = "--no-client-warmup",
      description =
          "Skip the discarded run against the bare server that warms the simulated clients (this"
              + " JVM) before the measured alternations. Without it, whichever server runs first"
              + " also pays for the clients' JIT: 130 ms of client CPU per round against 50 after.")
  boolean noClientWarmup;

  @Option(
      names = "--trace-publisher",
      description =
          "Run the control plane with SnapshotPublisher at DEBUG and summarize its 'Built snapshot ... "
              + "in N us' lines (translation + hashing time per snapshot).")
  boolean tracePublisher;

  @Option(
      names = "--work-dir",
      defaultValue = "target/bench-runs",
      description = "Where control-plane logs go. Default: ${DEFAULT-VALUE}")
  Path workRoot;

  /** Which control plane a run measured. */
  enum Server {
    SIGNALBOX,
    BARE
  }

  private record Result(
      Server server,
      int clients,
      Stats last,
      Stats first,
      int timeouts,
      long connectMs,
      ControlPlaneProcess.HeapInfo baselineHeap,
      long baselineRssKib,
      ControlPlaneProcess.HeapInfo heap,
      long rssKib,
      double idleCpuMsPerSecond,
      double cpCpuMsPerRound,
      double benchCpuMsPerRound,
      double responsesPerClientRound,
      double bytesPerClientRound,
      double allocatedBytesPerClientRound,
      Stats buildMicros,
      List<String> jvmOptions) {}

  @Override
  public Integer call() throws Exception {
    if (sidecars || change == Change.ROUTE) {
      noBaseline = true;
      xds = EnvoyProcess.XdsMode.DELTA;
    }
    if (sidecars && change == Change.ROUTE) {
      throw new picocli.CommandLine.ParameterException(
          new picocli.CommandLine(this), "--change ROUTE is for edge clients, not --sidecars");
    }
    System.out.println("DeltaFanout: " + Jvm.describeHost());
    System.out.printf(
        "xds=%s clients=%s rounds=%d warmup=%d services=%d channels=%d pause=%dms"
            + " changes-per-round=%d node=%s (Signalbox's clients: %s; the bare server's: every"
            + " request) cp-jvm-opts=%s%n",
        xds,
        clientCounts,
        rounds,
        warmup,
        services,
        channels,
        pauseMs,
        changesPerRound,
        nodes,
        nodeEveryRequest ? "every request" : "first request only",
        cpJvmOptions);
    Path workDir =
        workRoot
            .resolve(
                "delta-fanout-"
                    + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")))
            .toAbsolutePath();
    Files.createDirectories(workDir);
    List<Result> results = new ArrayList<>();
    for (int clients : clientCounts) {
      if (!noBaseline && !noClientWarmup) {
        // A B B A cancels drift that grows with time, not a step: the clients' warm-up would
        // count against the server measured first.
        System.out.printf("%n(warming the simulated clients: this run is discarded)%n");
        runOnce(Server.BARE, clients, workDir, -1);
      }
      for (int run = 0; run < (noBaseline ? 1 : alternations); run++) {
        // A B B A ...
        boolean signalboxFirst = noBaseline || run % 2 == 0;
        if (signalboxFirst) {
          results.add(runOnce(Server.SIGNALBOX, clients, workDir, run));
        }
        if (!noBaseline) {
          results.add(runOnce(Server.BARE, clients, workDir, run));
        }
        if (!signalboxFirst) {
          results.add(runOnce(Server.SIGNALBOX, clients, workDir, run));
        }
      }
    }

    ResultTable latency =
        new ResultTable(
            String.format(
                "DeltaFanout, %s ADS clients: Register returned -> LAST of N clients "
                    + "has the new %s (%d rounds after %d warmup, %d services)",
                xds,
                change == Change.ROUTE ? "route configuration" : "endpoint",
                rounds,
                warmup,
                services),
            "server",
            "clients",
            "rounds ok",
            "p50 ms",
            "p99 ms",
            "max ms",
            "mean ms",
            "first client p50 ms",
            "target p99 <= 250 ms");
    for (Result r : results) {
      latency.row(
          r.server,
          r.clients,
          r.last.count() + "/" + rounds,
          Stats.ms(r.last.percentileMs(50)),
          Stats.ms(r.last.percentileMs(99)),
          Stats.ms(r.last.maxMs()),
          Stats.ms(r.last.meanMs()),
          Stats.ms(r.first.percentileMs(50)),
          r.clients != 1000 || r.server != Server.SIGNALBOX
              ? "(n/a)"
              : r.timeouts == 0 && r.last.percentileMs(99) <= 250 ? "met" : "MISSED");
    }
    latency.print(System.out);
    if (!noBaseline) {
      ratios(results).print(System.out);
    }

    ResultTable memory =
        new ResultTable(
            "Control-plane JVM after jcmd GC.run, "
                + xds
                + " ADS clients (heap used from GC.heap_info; RSS from /proc/<pid>/status VmRSS)",
            "clients",
            "server",
            "heap used MiB (0 clients)",
            "heap used MiB (N clients)",
            "per client KiB",
            "heap committed MiB",
            "metaspace MiB",
            "RSS MiB (0 clients)",
            "RSS MiB (N clients)");
    for (Result r : results) {
      memory.row(
          r.clients,
          r.server,
          String.format("%.1f", r.baselineHeap.usedMib()),
          String.format("%.1f", r.heap.usedMib()),
          String.format("%.1f", (r.heap.usedKib() - r.baselineHeap.usedKib()) / (double) r.clients),
          String.format("%.0f", r.heap.committedKib() / 1024.0),
          String.format("%.1f", r.heap.metaspaceUsedKib() / 1024.0),
          String.format("%.0f", r.baselineRssKib / 1024.0),
          String.format("%.0f", r.rssKib / 1024.0));
    }
    memory.print(System.out);

    ResultTable cost =
        new ResultTable(
            "Cost per round and setup, "
                + xds
                + " ADS clients (CPU from /proc; per round = over the rounds, less the idle rate)",
            "server",
            "clients",
            "connect+initial sync ms",
            "control-plane idle CPU ms/s",
            "control-plane CPU ms/round",
            "bench (clients) CPU ms/round",
            "responses per client/round",
            "bytes per client/round",
            "control-plane heap allocated per client/round",
            "snapshot build p50 us",
            "snapshot build max us");
    for (Result r : results) {
      cost.row(
          r.server,
          r.clients,
          r.connectMs,
          String.format("%.1f", r.idleCpuMsPerSecond),
          String.format("%.1f", r.cpCpuMsPerRound),
          String.format("%.1f", r.benchCpuMsPerRound),
          String.format("%.2f", r.responsesPerClientRound),
          String.format("%.0f", r.bytesPerClientRound),
          Double.isNaN(r.allocatedBytesPerClientRound)
              ? "-"
              : String.format("%.1f KiB", r.allocatedBytesPerClientRound / 1024),
          r.buildMicros.isEmpty()
              ? "-"
              : String.format("%.0f", r.buildMicros.percentileMs(50) * 1e6 / 1e3),
          r.buildMicros.isEmpty() ? "-" : String.format("%.0f", r.buildMicros.maxMs() * 1e6 / 1e3));
    }
    cost.print(System.out);
    System.out.println(
        "control-plane JVM options: "
            + (results.isEmpty() ? "" : results.get(0).jvmOptions)
            + " (none = JVM defaults); logs in "
            + workDir);
    return results.stream().allMatch(r -> r.timeouts == 0) ? 0 : 1;
  }

  /**
   * Signalbox / bare for each client count, over all rounds of all alternations of each: below 1
   * means Signalbox is faster or smaller.
   */
  private ResultTable ratios(List<Result> results) {
    ResultTable table =
        new ResultTable(
            "Signalbox / bare java-control-plane, "
                + xds
                + " ADS clients, same run, rounds of all alternations pooled"
                + " (below 1: Signalbox better)",
            "clients",
            "rounds (each)",
            "LAST p50 ratio",
            "LAST p99 ratio",
            "LAST mean ratio",
            "first p50 ratio",
            "heap/client ratio",
            "allocated/client/round ratio",
            "target p99 <= 0.6");
    for (int clients : clientCounts) {
      Stats[] last = {new Stats(), new Stats()};
      Stats[] first = {new Stats(), new Stats()};
      double[] perClientKib = {0, 0};
      double[] allocatedPerClientRound = {0, 0};
      int[] runs = {0, 0};
      for (Result r : results) {
        if (r.clients == clients) {
          int i = r.server.ordinal();
          last[i].addAll(r.last);
          first[i].addAll(r.first);
          perClientKib[i] += (r.heap.usedKib() - r.baselineHeap.usedKib()) / (double) clients;
          allocatedPerClientRound[i] += r.allocatedBytesPerClientRound;
          runs[i]++;
        }
      }
      double p99 = last[0].percentileMs(99) / last[1].percentileMs(99);
      table.row(
          clients,
          last[0].count() + " / " + last[1].count(),
          String.format("%.2f", last[0].percentileMs(50) / last[1].percentileMs(50)),
          String.format("%.2f", p99),
          String.format("%.2f", last[0].meanMs() / last[1].meanMs()),
          String.format("%.2f", first[0].percentileMs(50) / first[1].percentileMs(50)),
          String.format("%.2f", (perClientKib[0] / runs[0]) / (perClientKib[1] / runs[1])),
          String.format(
              "%.2f",
              (allocatedPerClientRound[0] / runs[0]) / (allocatedPerClientRound[1] / runs[1])),
          p99 <= 0.6 ? "met" : "MISSED");
    }
    return table;
  }

  private Result runOnce(Server server, int clientCount, Path workDir, int run) throws IOException {
    System.out.printf("%n== %s, %d %s clients, run %d ==%n", server, clientCount, xds, run + 1);
    try (Cleanup cleanup = new Cleanup()) {
      List<String> jvmOptions = new ArrayList<>(cpJvmOptions);
      if (tracePublisher && server == Server.SIGNALBOX) {
        Path logback = workDir.resolve("logback-trace-publisher.xml");
        Files.writeString(
            logback,
            """
            <configuration>
              <appender name="CONSOLE" class="ch.qos.logback.core.ConsoleAppender">
                <encoder><pattern>%d{HH:mm:ss.SSS} %-5level [%thread] %logger{24} - %msg%n</pattern></encoder>
              </appender>
              <logger name="io.envoyproxy.controlplane" level="INFO"/>
              <logger name="io.grpc.netty" level="WARN"/>
              <logger name="io.signalbox.xds.SnapshotPublisher" level="DEBUG"/>
              <root level="INFO"><appender-ref ref="CONSOLE"/></root>
            </configuration>
            """);
        jvmOptions.add("-Dlogback.configurationFile=" + logback);
      }
      Path log =
          workDir.resolve(
              server.name().toLowerCase(java.util.Locale.ROOT)
                  + "-"
                  + clientCount
                  + "-clients-run"
                  + (run + 1)
                  + ".log");
      ControlPlaneProcess controlPlane =
          cleanup.add(
              server == Server.SIGNALBOX
                  ? ControlPlaneProcess.start(log, jvmOptions)
                  : ControlPlaneProcess.startBare(log, jvmOptions));
      System.out.println("started " + controlPlane);

      ManagedChannel registryChannel = controlPlane.channel().build();
      cleanup.add(registryChannel::shutdownNow);
      RegistryGrpc.RegistryBlockingStub registry = RegistryGrpc.newBlockingStub(registryChannel);
      registerAll(registry);
      Jvm.sleepMs(500);
      ControlPlaneProcess.HeapInfo baselineHeap = controlPlane.heapAfterGc();
      long baselineRss = controlPlane.rssKib();

      List<ManagedChannel> adsChannels = new ArrayList<>();
      int connections = channels <= 0 ? clientCount : Math.min(channels, clientCount);
      for (int c = 0; c < connections; c++) {
        // directExecutor: the clients' callbacks are short and non-blocking, so they run on Netty's
        // event loops.
        ManagedChannel channel =
            controlPlane.channel().directExecutor().maxInboundMessageSize(64 * 1024 * 1024).build();
        cleanup.add(channel::shutdownNow);
        adsChannels.add(channel);
      }
      AtomicReference<Round> current = new AtomicReference<>();
      // As each server's fleet has its Envoys send the node: the bare server's caches read it from
      // every request, Signalbox's bootstraps send it in each stream's first.
      boolean nodeInFirstRequestOnly = server == Server.SIGNALBOX && !nodeEveryRequest;
      List<FanoutClient> clients = new ArrayList<>();
      cleanup.add(() -> clients.forEach(FanoutClient::close));
      long connectStart = System.nanoTime();
      for (int i = 0; i < clientCount; i++) {
        io.envoyproxy.envoy.config.core.v3.Node node =
            nodes.of(
                sidecars
                    ? SimulatedEnvoy.sidecarNode(i, serviceName(i % services))
                    : SimulatedEnvoy.edgeNode(i, NODE_CLUSTER));
        FanoutClient client =
            xds == EnvoyProcess.XdsMode.SOTW && !sidecars
                ? new SotwXdsClient(i, node, nodeInFirstRequestOnly, current::get)
                : new DeltaXdsClient(
                    i, node, nodeInFirstRequestOnly, current::get, change == Change.ROUTE);
        clients.add(client);
        client.start(
            AggregatedDiscoveryServiceGrpc.newStub(adsChannels.get(i % adsChannels.size())));
        if ((i + 1) % connectBatch == 0 || i + 1 == clientCount) {
          awaitSynced(clients, controlPlane, 60);
        }
      }
      for (int i = 0; i < stuck; i++) {
        cleanup.add(
            FakeAdsClient.neverReading(
                controlPlane.grpcPort(),
                FakeAdsClient.node("stuck-" + i, NODE_CLUSTER),
                xds == EnvoyProcess.XdsMode.DELTA));
      }
      long connectMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - connectStart);
      System.out.printf(
          "%d clients connected, each holding %d assignments, in %d ms%s%n",
          clientCount,
          sidecars ? callsPerService : services,
          connectMs,
          stuck > 0 ? "; " + stuck + " more that never read" : "");

      // Let the JIT and GC settle after the connection storm.
      Jvm.sleepMs(settleMs);
      int buildLinesBefore =
          tracePublisher && server == Server.SIGNALBOX
              ? snapshotBuildMicros(controlPlane.logFile(), 0).count()
              : 0;
      Stats last = new Stats();
      Stats first = new Stats();
      int timeouts = 0;
      int unexpectedArrivals = 0;
      long cpCpuBefore = controlPlane.cpuMillis();
      long allocatedBefore = controlPlane.allocatedBytes();
      long responsesBefore = clients.stream().mapToLong(FanoutClient::responses).sum();
      long bytesBefore = clients.stream().mapToLong(FanoutClient::responseBytes).sum();
      long benchCpuBefore = benchCpuMillis();
      long roundsStart = System.nanoTime();
      for (int r = 0; r < warmup + rounds; r++) {
        int changes = change == Change.ROUTE ? 1 : changesPerRound;
        // The last change of the round, the one waited for; the ones before it go to the services
        // before it.
        int service = (r * changes + changes - 1) % services;
        int port = 40000 + r * changes + changes - 1;
        boolean[] expected = null;
        if (sidecars) {
          expected = new boolean[clientCount];
          for (int c = 0; c < clientCount; c++) {
            expected[c] = calls(c, service);
          }
        }
        String routePrefix = "/" + serviceName(service) + "/r" + r;
        Round round =
            change == Change.ROUTE
                ? Round.ofRoutePrefix(routePrefix, clientCount)
                : new Round("svc-" + serviceName(service), port, clientCount, expected);
        current.set(round);
        if (change == Change.ROUTE) {
          // The service's first instance again, under another prefix: only its route moves.
          register(registry, service, "base-0", basePort(service, 0), calls(service), routePrefix);
        } else {
          for (int before = changes - 1; before > 0; before--) {
            int other = Math.floorMod(service - before, services);
            register(registry, other, "extra-" + r + "-" + before, port - before, calls(other));
          }
          register(registry, service, "extra-" + r, port, calls(service));
        }
        long t0 = System.nanoTime();
        boolean complete;
        try {
          complete = round.allArrived.await(roundTimeoutMs, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IllegalStateException("interrupted", e);
        }
        current.set(null);
        if (!complete) {
          timeouts++;
          long failed = clients.stream().filter(FanoutClient::failed).count();
          System.err.printf(
              "round %d: only %d of %d clients got %s within %d ms (%d streams failed%s)%n",
              r,
              clientCount - round.remaining.get(),
              clientCount,
              change == Change.ROUTE ? "route prefix " + routePrefix : "port " + port,
              roundTimeoutMs,
              failed,
              failed == 0
                  ? ""
                  : ", e.g. "
                      + clients.stream()
                          .filter(FanoutClient::failed)
                          .findFirst()
                          .map(FanoutClient::error)
                          .orElse(null));
          if (timeouts > 3 || !controlPlane.isAlive()) {
            throw new IllegalStateException(
                "giving up after "
                    + timeouts
                    + " incomplete rounds; log: "
                    + controlPlane.logFile());
          }
        } else if (r >= warmup) {
          long min = Long.MAX_VALUE;
          long max = Long.MIN_VALUE;
          for (long arrival : round.arrivals) {
            if (arrival == 0) {
              continue; // not one of the clients this round was for
            }
            min = Math.min(min, arrival);
            max = Math.max(max, arrival);
          }
          unexpectedArrivals += round.unexpected.get();
          // A client can (rarely) see the push before the Register response is back; that counts as
          // 0.
          last.add(Math.max(0, max - t0));
          first.add(Math.max(0, min - t0));
        }
        Jvm.sleepMs(pauseMs);
      }
      int totalRounds = warmup + rounds;
      double roundsSeconds = (System.nanoTime() - roundsStart) / 1e9;
      long cpCpuAfterRounds = controlPlane.cpuMillis();
      long allocatedAfterRounds = controlPlane.allocatedBytes();
      // The control plane's CPU use with N idle clients, to tell the cost of a round from
      // background work.
      long idleStart = System.nanoTime();
      Jvm.sleepMs(idleMs);
      double idleSeconds = (System.nanoTime() - idleStart) / 1e9;
      double idleCpuPerSecond = (controlPlane.cpuMillis() - cpCpuAfterRounds) / idleSeconds;
      double idleAllocatedPerSecond =
          (controlPlane.allocatedBytes() - allocatedAfterRounds) / idleSeconds;
      double cpCpuPerRound =
          (cpCpuAfterRounds - cpCpuBefore - idleCpuPerSecond * roundsSeconds) / totalRounds;
      double benchCpuPerRound = (benchCpuMillis() - benchCpuBefore) / (double) totalRounds;
      double clientRounds = (double) totalRounds * clientCount;
      double responsesPerClientRound =
          (clients.stream().mapToLong(FanoutClient::responses).sum() - responsesBefore)
              / clientRounds;
      double bytesPerClientRound =
          (clients.stream().mapToLong(FanoutClient::responseBytes).sum() - bytesBefore)
              / clientRounds;
      double allocatedPerClientRound =
          allocatedBefore < 0 || allocatedAfterRounds < 0
              ? Double.NaN
              : (allocatedAfterRounds - allocatedBefore - idleAllocatedPerSecond * roundsSeconds)
                  / clientRounds;
      if (sidecars) {
        System.out.printf(
            "sidecars: each round for the %d sidecars that call the changed service;"
                + " arrivals at other sidecars: %d%n",
            clientCount / services * callsPerService, unexpectedArrivals);
      }
      System.out.printf(
          "last client p50 %s ms, p99 %s ms, max %s ms; first client p50 %s ms%n",
          Stats.ms(last.percentileMs(50)),
          Stats.ms(last.percentileMs(99)),
          Stats.ms(last.maxMs()),
          Stats.ms(first.percentileMs(50)));

      long failed = clients.stream().filter(FanoutClient::failed).count();
      if (failed > 0) {
        System.err.printf("%d client streams failed during the run%n", failed);
      }
      ControlPlaneProcess.HeapInfo heap = controlPlane.heapAfterGc();
      long rss = controlPlane.rssKib();
      System.out.printf(
          "heap after GC with %d clients: %.1f MiB used (0 clients: %.1f MiB); RSS %d MiB%n",
          clientCount, heap.usedMib(), baselineHeap.usedMib(), rss / 1024);
      System.out.println(heap.raw());
      Stats buildMicros =
          tracePublisher && server == Server.SIGNALBOX
              ? snapshotBuildMicros(controlPlane.logFile(), buildLinesBefore)
              : new Stats();
      return new Result(
          server,
          clientCount,
          last,
          first,
          timeouts,
          connectMs,
          baselineHeap,
          baselineRss,
          heap,
          rss,
          idleCpuPerSecond,
          cpCpuPerRound,
          benchCpuPerRound,
          responsesPerClientRound,
          bytesPerClientRound,
          allocatedPerClientRound,
          buildMicros,
          controlPlane.jvmOptions());
    }
  }

  private void awaitSynced(
      List<? extends FanoutClient> clients, ControlPlaneProcess controlPlane, int seconds) {
    // A scoped sidecar holds the assignments of the services it calls, and no other.
    awaitSynced(clients, sidecars ? callsPerService : services, controlPlane, seconds);
  }

  /**
   * Waits until every client holds {@code services} assignments; throws when one fails or time is
   * up.
   */
  static void awaitSynced(
      List<? extends FanoutClient> clients,
      int services,
      ControlPlaneProcess controlPlane,
      int seconds) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    while (true) {
      long behind = clients.stream().filter(c -> c.assignmentCount() < services).count();
      long failed = clients.stream().filter(FanoutClient::failed).count();
      if (failed > 0) {
        throw new IllegalStateException(
            failed
                + " client streams failed while connecting, e.g. "
                + clients.stream()
                    .filter(FanoutClient::failed)
                    .findFirst()
                    .map(FanoutClient::error)
                    .orElse(null)
                + "; log: "
                + controlPlane.logFile());
      }
      if (behind == 0) {
        return;
      }
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException(
            behind
                + " of "
                + clients.size()
                + " clients lack their initial "
                + services
                + " assignments after "
                + seconds
                + " s; log: "
                + controlPlane.logFile());
      }
      Jvm.sleepMs(5);
    }
  }

  /**
   * Microseconds from the publisher's "Built snapshot ... in N us" debug lines, skipping the first
   * {@code skip}.
   */
  private static Stats snapshotBuildMicros(Path log, int skip) throws IOException {
    Stats stats = new Stats();
    int seen = 0;
    java.util.regex.Pattern line =
        java.util.regex.Pattern.compile("Built snapshot .* in (\\d+) us");
    for (String text : Files.readAllLines(log)) {
      java.util.regex.Matcher m = line.matcher(text);
      if (m.find() && seen++ >= skip) {
        stats.add(Long.parseLong(m.group(1)) * 1000);
      }
    }
    return stats;
  }

  private static long benchCpuMillis() {
    java.lang.management.OperatingSystemMXBean os = ManagementFactory.getOperatingSystemMXBean();
    if (os instanceof com.sun.management.OperatingSystemMXBean sun) {
      return TimeUnit.NANOSECONDS.toMillis(sun.getProcessCpuTime());
    }
    return -1;
  }

  /** The services' instances, 16 registrations in flight (a registry of 10,000 takes seconds). */
  private void registerAll(RegistryGrpc.RegistryBlockingStub registry) {
    java.util.concurrent.ExecutorService pool =
        java.util.concurrent.Executors.newFixedThreadPool(16);
    try {
      List<java.util.concurrent.Future<?>> calls = new ArrayList<>();
      for (int i = 0; i < instancesPerService; i++) {
        String instance = "base-" + i;
        for (int s = 0; s < services; s++) {
          int service = s;
          // Below the ephemeral range, where the control plane's own ports are (it refuses those).
          int port = basePort(s, i);
          calls.add(pool.submit(() -> register(registry, service, instance, port, calls(service))));
        }
      }
      for (java.util.concurrent.Future<?> call : calls) {
        call.get();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    } catch (java.util.concurrent.ExecutionException e) {
      throw new IllegalStateException("a registration failed", e.getCause());
    } finally {
      pool.shutdownNow();
    }
  }

  /**
   * The port of a service's {@code i}th instance of the registry: below the ephemeral range, where
   * the control plane's own ports are (it refuses those).
   */
  private int basePort(int service, int i) {
    return 2000 + (service + i * services) % 7000;
  }

  static String serviceName(int service) {
    return "fan-" + service;
  }

  static void register(
      RegistryGrpc.RegistryBlockingStub registry, int service, String instance, int port) {
    register(registry, service, instance, port, List.of());
  }

  /** With {@code calls}: the service's sidecars are scoped to those services. */
  static void register(
      RegistryGrpc.RegistryBlockingStub registry,
      int service,
      String instance,
      int port,
      List<String> calls) {
    register(registry, service, instance, port, calls, "/" + serviceName(service));
  }

  /** With its route under {@code prefix}. */
  static void register(
      RegistryGrpc.RegistryBlockingStub registry,
      int service,
      String instance,
      int port,
      List<String> calls,
      String prefix) {
    String name = serviceName(service);
    registry
        .withDeadlineAfter(5, TimeUnit.SECONDS)
        .register(
            RegisterRequest.newBuilder()
                .setService(name)
                .setInstance(
                    Instance.newBuilder().setId(instance).setHost("127.0.0.1").setPort(port))
                .addRoutes(Route.newBuilder().setPath(PathMatch.newBuilder().setPrefix(prefix)))
                .setLeaseTtl(Duration.newBuilder().setSeconds(300))
                .addAllCalls(calls)
                .build());
  }

  /** With --sidecars: the services {@code service} calls. */
  private List<String> calls(int service) {
    if (!sidecars) {
      return List.of();
    }
    List<String> calls = new ArrayList<>();
    for (int c = 1; c <= callsPerService; c++) {
      calls.add(serviceName((service + c) % services));
    }
    return calls;
  }

  /** With --sidecars: whether the sidecar {@code client} calls {@code service}. */
  private boolean calls(int client, int service) {
    return calls(client % services).contains(serviceName(service));
  }
}
