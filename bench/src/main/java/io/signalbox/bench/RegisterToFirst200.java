package io.signalbox.bench;

import com.google.protobuf.Duration;
import io.envoyproxy.controlplane.cache.Resources;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.signalbox.config.GatewaySettings;
import io.signalbox.registry.v1.Instance;
import io.signalbox.registry.v1.PathMatch;
import io.signalbox.registry.v1.RegisterRequest;
import io.signalbox.registry.v1.RegistryGrpc;
import io.signalbox.registry.v1.Route;
import io.signalbox.samples.EchoService;
import io.signalbox.server.ControlPlane;
import io.signalbox.server.ControlPlaneConfig;
import io.signalbox.testing.EnvoyProcess;
import io.signalbox.testing.FakeAdsClient;
import io.signalbox.testing.FreePorts;
import io.signalbox.testing.LoopbackUpstreams;
import io.signalbox.xds.XdsCallbacks;
import java.io.IOException;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Registration-to-traffic latency through a real Envoy: for each new service, the time from the
 * moment Register returns until {@code GET /bench-<i>} through the gateway first answers 200.
 */
@Command(
    name = "register-latency",
    aliases = "RegisterToFirst200",
    mixinStandardHelpOptions = true,
    description =
        "Registration-to-first-200 latency through a real Envoy (in-process control plane).")
final class RegisterToFirst200 implements Callable<Integer> {

  private static final String CDS = Resources.V3.CLUSTER_TYPE_URL;
  private static final String EDS = Resources.V3.ENDPOINT_TYPE_URL;
  private static final String RDS = Resources.V3.ROUTE_TYPE_URL;

  @Option(
      names = {"-n", "--registrations"},
      defaultValue = "200",
      description = "Measured registrations (after warmup). Default: ${DEFAULT-VALUE}")
  int registrations;

  @Option(
      names = "--warmup",
      defaultValue = "10",
      description = "Registrations measured but discarded first. Default: ${DEFAULT-VALUE}")
  int warmup;

  @Option(
      names = "--xds",
      defaultValue = "SOTW",
      description = "Envoy's ADS flavour: ${COMPLETION-CANDIDATES}. Default: ${DEFAULT-VALUE}")
  EnvoyProcess.XdsMode xdsMode;

  @Option(
      names = "--http",
      defaultValue = "raw",
      description =
          "Polling client: raw (keep-alive socket) or jdk (java.net.http, HTTP/1.1). Default: ${DEFAULT-VALUE}")
  String http;

  @Option(
      names = "--pause-ms",
      defaultValue = "0",
      description =
          "Pause after each registration reached 200. 0 runs them back to back: the next"
              + " registration follows as soon as the previous one answered 200 (figures before"
              + " this default paused 20 ms). Default: ${DEFAULT-VALUE}")
  int pauseMs;

  @Option(
      names = "--poll-pause-us",
      defaultValue = "0",
      description = "Pause between polls; 0 polls back to back. Default: ${DEFAULT-VALUE}")
  int pollPauseUs;

  @Option(
      names = "--timeout-ms",
      defaultValue = "10000",
      description = "Give up on one registration after this long. Default: ${DEFAULT-VALUE}")
  int timeoutMs;

  @Option(
      names = "--envoy-log-level",
      defaultValue = "warn",
      description = "Envoy --log-level (debug logging slows Envoy down). Default: ${DEFAULT-VALUE}")
  String envoyLogLevel;

  @Option(
      names = "--envoy-component-log-level",
      defaultValue = "",
      description = "Envoy --component-log-level, e.g. config:debug,upstream:debug (empty: none).")
  String envoyComponentLogLevel;

  @Option(
      names = "--verbose",
      description =
          "Print one line per registration, with the wall-clock time Register returned (to line up with "
              + "Envoy's log).")
  boolean verbose;

  @Option(
      names = "--publish-quiet-ms",
      defaultValue = "1",
      description =
          "Control plane's coalescing quiet period (the shipped default is 1). Default: ${DEFAULT-VALUE}")
  long quietMs;

  @Option(
      names = "--publish-max-delay-ms",
      defaultValue = "100",
      description =
          "Control plane's coalescing max delay (the shipped default is 100). Default: ${DEFAULT-VALUE}")
  long maxDelayMs;

  @Option(
      names = "--stage-timeout-ms",
      defaultValue = "2000",
      description =
          "Control plane's make-before-break stage timeout (the shipped default is 2000); 0 publishes "
              + "every change in one step. Default: ${DEFAULT-VALUE}")
  long stageTimeoutMs;

  @Option(
      names = "--hung-clients",
      defaultValue = "0",
      description =
          "xDS clients that open an ADS stream (in --xds mode), ask for clusters and listeners and never read "
              + "a response, connected before the measured registrations (issue 14). Default: ${DEFAULT-VALUE}")
  int hungClients;

  @Option(
      names = "--hung-group",
      defaultValue = "edge",
      description =
          "The node group of the hung clients (the Envoy's is edge). Default: ${DEFAULT-VALUE}")
  String hungGroup;

  @Option(
      names = "--node-every-request",
      defaultValue = "false",
      description =
          "Have Envoy send its node in every xDS request (Envoy's default), not in each stream's"
              + " first only as the shipped bootstraps have it. Default: ${DEFAULT-VALUE}")
  boolean nodeEveryRequest;

  @Option(
      names = "--breakdown",
      description =
          "Also timestamp, per registration, when the snapshot is published and when CDS/EDS/RDS "
              + "responses leave the control plane (a monitor thread polls every ~20 us, which costs some CPU).")
  boolean breakdown;

  @Override
  public Integer call() throws Exception {
    System.out.println("RegisterToFirst200: " + Jvm.describeHost());
    System.out.printf(
        "registrations=%d warmup=%d xds=%s http=%s pause=%dms poll-pause=%dus quiet=%dms "
            + "max-delay=%dms envoy-log-level=%s breakdown=%s%n",
        registrations,
        warmup,
        xdsMode,
        http,
        pauseMs,
        pollPauseUs,
        quietMs,
        maxDelayMs,
        envoyLogLevel,
        breakdown);
    try (Cleanup cleanup = new Cleanup()) {
      int gatewayPort = FreePorts.allocate();
      EchoService backend =
          cleanup.add(EchoService.start("bench-backend", "backend-1", "127.0.0.1", 0));
      ControlPlane controlPlane =
          cleanup.add(
              ControlPlane.start(
                  ControlPlaneConfig.builder()
                      .transport(io.signalbox.security.TransportSecurity.plaintext())
                      .grpcAddress("127.0.0.1")
                      .grpcPort(0)
                      .gateway(
                          LoopbackUpstreams.allowedIn(
                              GatewaySettings.plaintext("127.0.0.1", gatewayPort)))
                      .publishQuietPeriod(java.time.Duration.ofMillis(quietMs))
                      .publishMaxDelay(java.time.Duration.ofMillis(maxDelayMs))
                      .stageTimeout(java.time.Duration.ofMillis(stageTimeoutMs))
                      .build()));
      ManagedChannel channel =
          NettyChannelBuilder.forAddress("127.0.0.1", controlPlane.grpcPort())
              .usePlaintext()
              .build();
      cleanup.add(channel::shutdownNow);
      EnvoyProcess.Builder envoyBuilder =
          EnvoyProcess.builder()
              .nodeId("bench-edge-1")
              .nodeCluster("edge")
              .xdsPort(controlPlane.grpcPort())
              .xdsMode(xdsMode)
              .logLevel(envoyLogLevel)
              .componentLogLevel(envoyComponentLogLevel);
      if (nodeEveryRequest) {
        envoyBuilder.nodeInEveryRequest();
      }
      EnvoyProcess envoy = cleanup.add(envoyBuilder.start());
      envoy.awaitReady(java.time.Duration.ofSeconds(30));
      System.out.println("Envoy ready: " + envoy);
      for (int i = 0; i < hungClients; i++) {
        cleanup.add(
            FakeAdsClient.neverReading(
                controlPlane.grpcPort(),
                FakeAdsClient.node("hung-" + i, hungGroup),
                xdsMode == EnvoyProcess.XdsMode.DELTA));
      }
      if (hungClients > 0) {
        System.out.printf("%d hung xDS clients in group %s%n", hungClients, hungGroup);
      }
      HttpPoller poller = cleanup.add(HttpPoller.create(http, "127.0.0.1", gatewayPort));
      RegistryGrpc.RegistryBlockingStub registry = RegistryGrpc.newBlockingStub(channel);

      // The poll loop's resolution: one GET through Envoy to a route that already answers 200.
      register(registry, "baseline", backend.port());
      long baselineDeadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (safeGet(poller, "/baseline") != 200) {
        if (System.nanoTime() > baselineDeadline) {
          throw new IllegalStateException(
              "/baseline never answered 200 through Envoy; see " + envoy.logFile());
        }
      }
      Stats rtt = new Stats();
      for (int i = 0; i < 1000; i++) {
        long start = System.nanoTime();
        int status = poller.get("/baseline");
        rtt.add(System.nanoTime() - start);
        if (status != 200) {
          throw new IllegalStateException("/baseline answered " + status);
        }
      }
      Stats notFoundRtt = new Stats();
      for (int i = 0; i < 1000; i++) {
        long start = System.nanoTime();
        poller.get("/nothing-here");
        notFoundRtt.add(System.nanoTime() - start);
      }

      PublisherTrace trace = breakdown ? cleanup.add(PublisherTrace.attach()) : null;
      Monitor monitor = breakdown ? new Monitor(controlPlane) : null;
      if (monitor != null) {
        cleanup.add(monitor);
        monitor.start();
      }
      Stats latency = new Stats();
      Stats rpc = new Stats();
      Stats routeSeen = new Stats();
      Stats firstOkGet = new Stats();
      Stats published = new Stats();
      Stats cdsSent = new Stats();
      Stats edsSent = new Stats();
      Stats rdsSent = new Stats();
      long polls = 0;
      long polls404 = 0;
      long polls503 = 0;
      long pollsOther = 0;
      int timeouts = 0;
      long runStart = System.nanoTime();
      for (int i = 0; i < warmup + registrations; i++) {
        boolean measured = i >= warmup;
        if (trace != null && i == warmup) {
          trace.record(true);
        }
        String path = "/bench-" + i;
        if (monitor != null) {
          monitor.arm();
        }
        long called = System.nanoTime();
        register(registry, "bench-" + i, backend.port());
        long t0 = System.nanoTime();
        java.time.Instant t0Wall = verbose ? java.time.Instant.now() : null;
        long deadline = t0 + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        long firstNon404 = -1;
        long done = -1;
        long okGetNanos = -1;
        while (System.nanoTime() < deadline) {
          long sent = System.nanoTime();
          int status = safeGet(poller, path);
          long now = System.nanoTime();
          if (status == 200) {
            okGetNanos = now - sent;
          }
          if (measured) {
            polls++;
            switch (status) {
              case 200 -> {}
              case 404 -> polls404++;
              case 503 -> polls503++;
              default -> pollsOther++;
            }
          }
          if (status != 404 && status != -1 && firstNon404 < 0) {
            firstNon404 = now;
          }
          if (status == 200) {
            done = now;
            break;
          }
          if (pollPauseUs > 0) {
            LockSupport.parkNanos(TimeUnit.MICROSECONDS.toNanos(pollPauseUs));
          }
        }
        if (done < 0) {
          timeouts++;
          System.err.printf("registration %d: no 200 within %d ms%n", i, timeoutMs);
          if (timeouts > 5) {
            throw new IllegalStateException(
                "too many registrations never answered 200; see " + envoy.logFile());
          }
          continue;
        }
        if (verbose) {
          Monitor.Marks marks = monitor == null ? null : monitor.peek();
          System.out.printf(
              "#%d %s returned at %s: rpc %.2f ms, route %.2f ms, 200 %.2f ms%s%n",
              i,
              path,
              t0Wall,
              (t0 - called) / 1e6,
              (firstNon404 - t0) / 1e6,
              (done - t0) / 1e6,
              marks == null
                  ? ""
                  : String.format(
                      ", published %.2f, cds %.2f, eds %.2f, rds %.2f",
                      rel(marks.published(), t0),
                      rel(marks.cds(), t0),
                      rel(marks.eds(), t0),
                      rel(marks.rds(), t0)));
        }
        if (measured) {
          latency.add(done - t0);
          rpc.add(t0 - called);
          routeSeen.add(firstNon404 - t0);
          firstOkGet.add(okGetNanos);
          if (monitor != null) {
            Monitor.Marks marks = monitor.marks();
            addIfSeen(published, marks.published(), t0);
            addIfSeen(cdsSent, marks.cds(), t0);
            addIfSeen(edsSent, marks.eds(), t0);
            addIfSeen(rdsSent, marks.rds(), t0);
          }
        }
        Jvm.sleepMs(pauseMs);
      }
      double runSeconds = (System.nanoTime() - runStart) / 1e9;

      String label =
          xdsMode
              + ", "
              + http
              + " client"
              + (hungClients > 0 ? ", " + hungClients + " hung in group " + hungGroup : "");
      ResultTable table =
          new ResultTable(
              String.format(
                  "RegisterToFirst200 (%s): Register returned -> first 200 through Envoy; %d measured after %d warmup, "
                      + "%d timeouts, %.1f s",
                  label, latency.count(), warmup, timeouts, runSeconds),
              "xds",
              "client",
              "n",
              "p50 ms",
              "p90 ms",
              "p99 ms",
              "max ms",
              "mean ms",
              "target p50 <= 10 ms");
      table.row(
          xdsMode,
          http,
          latency.count(),
          Stats.ms(latency.percentileMs(50)),
          Stats.ms(latency.percentileMs(90)),
          Stats.ms(latency.percentileMs(99)),
          Stats.ms(latency.maxMs()),
          Stats.ms(latency.meanMs()),
          latency.percentileMs(50) <= 10 ? "met" : "MISSED");
      table.print(System.out);

      ResultTable detail =
          new ResultTable(
              "Where the time goes (ms after Register returned, except the RPC and " + "GET rows)",
              "measure",
              "n",
              "p50",
              "p90",
              "p99",
              "max");
      detailRow(detail, "Register RPC (call -> return)", rpc);
      if (monitor != null) {
        detailRow(detail, "snapshot build: translate + hash (duration)", trace.buildTimes());
        detailRow(detail, "snapshot published (pipeline)", published);
        detailRow(detail, "CDS response sent", cdsSent);
        detailRow(detail, "EDS response sent", edsSent);
        detailRow(detail, "RDS response sent", rdsSent);
      }
      detailRow(detail, "first non-404 (route live in Envoy)", routeSeen);
      detailRow(detail, "first 200", latency);
      detailRow(detail, "the first 200 GET itself (new upstream connection)", firstOkGet);
      detailRow(detail, "one GET via Envoy, 200 (poll resolution)", rtt);
      detailRow(detail, "one GET via Envoy, 404", notFoundRtt);
      detail.print(System.out);
      System.out.printf(
          "polls per registration: mean %.1f (404: %d, 503: %d, other/error: %d, total %d)%n",
          latency.isEmpty() ? 0.0 : (double) polls / latency.count(),
          polls404,
          polls503,
          pollsOther,
          polls);
      if (breakdown) {
        // Envoy merges histograms at its stats flush (every 5 s).
        Jvm.sleepMs(6000);
        System.out.println(
            "Envoy's own time to apply xDS updates (ms histograms, whole run incl. warmup):");
        String filter =
            java.net.URLEncoder.encode(
                "^(cluster_manager\\.cds|listener_manager\\.lds|http\\..*\\.rds\\..*)\\.update_duration$",
                java.nio.charset.StandardCharsets.UTF_8);
        envoy
            .adminGet("/stats?filter=" + filter)
            .lines()
            .map(line -> "  " + line)
            .forEach(System.out::println);
      }
      System.out.println(
          "control plane: snapshots built "
              + controlPlane.publisher().snapshotsBuilt()
              + ", NACKs "
              + controlPlane.xdsCallbacks().nackCount()
              + "; Envoy log: "
              + envoy.logFile());
      return timeouts == 0 ? 0 : 1;
    }
  }

  private static double rel(long mark, long t0) {
    return mark > 0 ? (mark - t0) / 1e6 : Double.NaN;
  }

  private static void addIfSeen(Stats stats, long mark, long t0) {
    if (mark > 0) {
      stats.add(Math.max(0, mark - t0));
    }
  }

  private static void detailRow(ResultTable table, String name, Stats stats) {
    table.row(
        name,
        stats.count(),
        Stats.ms(stats.percentileMs(50)),
        Stats.ms(stats.percentileMs(90)),
        Stats.ms(stats.percentileMs(99)),
        Stats.ms(stats.maxMs()));
  }

  /** -1 for a connection error: Envoy's listener may briefly refuse while it is being (re)built. */
  private static int safeGet(HttpPoller poller, String path) {
    try {
      return poller.get(path);
    } catch (IOException e) {
      return -1;
    }
  }

  private static void register(
      RegistryGrpc.RegistryBlockingStub registry, String service, int port) {
    registry
        .withDeadlineAfter(5, TimeUnit.SECONDS)
        .register(
            RegisterRequest.newBuilder()
                .setService(service)
                .setInstance(
                    Instance.newBuilder().setId(service + "-1").setHost("127.0.0.1").setPort(port))
                .addRoutes(
                    Route.newBuilder().setPath(PathMatch.newBuilder().setPrefix("/" + service)))
                // The longest lease the control plane grants; the benchmark never renews.
                .setLeaseTtl(Duration.newBuilder().setSeconds(300))
                .build());
  }

  /**
   * Timestamps, after {@link #arm()}, the first publication of a new snapshot and the first
   * CDS/EDS/RDS response sent, by polling the control plane's own counters. Resolution is the park
   * time plus scheduling, ~0.05-0.1 ms.
   */
  private static final class Monitor extends Thread implements AutoCloseable {
    record Marks(long published, long cds, long eds, long rds) {}

    private final ControlPlane controlPlane;
    private volatile boolean running = true;
    private volatile boolean armed;
    private volatile long published;
    private volatile long cds;
    private volatile long eds;
    private volatile long rds;

    Monitor(ControlPlane controlPlane) {
      super("bench-monitor");
      setDaemon(true);
      this.controlPlane = controlPlane;
    }

    void arm() {
      published = 0;
      cds = 0;
      eds = 0;
      rds = 0;
      armed = true;
    }

    Marks peek() {
      return new Marks(published, cds, eds, rds);
    }

    Marks marks() {
      armed = false;
      return new Marks(published, cds, eds, rds);
    }

    @Override
    public void run() {
      XdsCallbacks callbacks = controlPlane.xdsCallbacks();
      Object lastSnapshot = controlPlane.publisher().current();
      long lastCds = callbacks.responsesSent(CDS);
      long lastEds = callbacks.responsesSent(EDS);
      long lastRds = callbacks.responsesSent(RDS);
      while (running) {
        long now = System.nanoTime();
        Object snapshot = controlPlane.publisher().current();
        long cdsCount = callbacks.responsesSent(CDS);
        long edsCount = callbacks.responsesSent(EDS);
        long rdsCount = callbacks.responsesSent(RDS);
        if (armed) {
          if (snapshot != lastSnapshot && published == 0) {
            published = now;
          }
          if (cdsCount != lastCds && cds == 0) {
            cds = now;
          }
          if (edsCount != lastEds && eds == 0) {
            eds = now;
          }
          if (rdsCount != lastRds && rds == 0) {
            rds = now;
          }
        }
        lastSnapshot = snapshot;
        lastCds = cdsCount;
        lastEds = edsCount;
        lastRds = rdsCount;
        LockSupport.parkNanos(20_000);
      }
    }

    @Override
    public void close() {
      running = false;
    }
  }
}
