package io.signalbox.bench;

import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import io.signalbox.registry.v1.Instance;
import io.signalbox.registry.v1.PathMatch;
import io.signalbox.registry.v1.RegisterRequest;
import io.signalbox.registry.v1.RegistryGrpc;
import io.signalbox.registry.v1.Route;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The registry store: registrations per second over the registry API with the embedded store (every
 * change committed to disk before it is acknowledged), in memory and (optionally) on etcd; then
 * keep-alives (lease renewals) per second sustained on the registered leases, on each; then kill -9
 * and the time from starting a new process on the same data directory to its first xDS answer
 * holding every stored registration.
 */
@Command(
    name = "store",
    mixinStandardHelpOptions = true,
    description =
        "Registrations/s and keep-alives/s on the embedded store vs. in memory (and etcd); "
            + "restart-to-first-xDS-answer with N stored.")
final class StoreBench implements java.util.concurrent.Callable<Integer> {

  private static final String CDS = "type.googleapis.com/envoy.config.cluster.v3.Cluster";

  @Option(
      names = "--registrations",
      defaultValue = "10000",
      description = "Instances registered (and stored). Default: ${DEFAULT-VALUE}")
  int registrations;

  @Option(
      names = "--services",
      defaultValue = "100",
      description = "Services they are spread over, one route each. Default: ${DEFAULT-VALUE}")
  int services;

  @Option(
      names = "--routes-by-host",
      description =
          "Each service's route is the path / on a host of its own (<service>.example.com), as"
              + " services told apart by host register, instead of a path prefix of its own.")
  boolean routesByHost;

  @Option(
      names = "--concurrency",
      defaultValue = "16",
      description = "Register calls in flight. Default: ${DEFAULT-VALUE}")
  int concurrency;

  @Option(
      names = "--keepalive-concurrency",
      defaultValue = "16",
      description = "KeepAlive streams, one renewal in flight on each. Default: ${DEFAULT-VALUE}")
  int keepAliveConcurrency;

  @Option(
      names = "--keepalive-seconds",
      defaultValue = "10",
      description =
          "Measured keep-alive window per backend; 0 skips keep-alives. Default: ${DEFAULT-VALUE}")
  double keepAliveSeconds;

  @Option(
      names = "--keepalive-warmup-seconds",
      defaultValue = "5",
      description = "Keep-alives before the measured window, discarded. Default: ${DEFAULT-VALUE}")
  double keepAliveWarmupSeconds;

  @Option(
      names = "--sustain-seconds",
      defaultValue = "20",
      description =
          "After the registry is filled: measured window of registrations sustained at that size"
              + " (each instance registered again at a new port, as after a restart); 0 skips it."
              + " Default: ${DEFAULT-VALUE}")
  double sustainSeconds;

  @Option(
      names = "--sustain-warmup-seconds",
      defaultValue = "30",
      description =
          "Sustained registrations before the measured window, discarded: on two cores the"
              + " control plane's JIT compilers take 20-25 s of this load to settle (the rates per"
              + " 5 s are printed). Default: ${DEFAULT-VALUE}")
  double sustainWarmupSeconds;

  @Option(
      names = "--restarts",
      defaultValue = "3",
      description = "kill -9 and restart this many times. Default: ${DEFAULT-VALUE}")
  int restarts;

  @Option(
      names = "--etcd-endpoints",
      paramLabel = "URL[,URL...]",
      description =
          "Also measure registrations/s with --store etcd against this etcd (start one with "
              + "scripts/install-etcd.sh's /usr/bin/etcd; its registry prefix is left behind).")
  String etcdEndpoints;

  @Option(
      names = "--no-baseline",
      description =
          "Skip the bare java-control-plane server (BareJavaControlPlane: no validation, leases,"
              + " store or security). Without this, it registers the same instances before and"
              + " after Signalbox, and Signalbox's rates are reported as ratios of its mean.")
  boolean noBaseline;

  @Option(names = "--cp-jvm-opt", description = "JVM option for the control plane (repeatable).")
  List<String> cpJvmOptions = new ArrayList<>();

  @Option(
      names = "--work-dir",
      defaultValue = "target/bench-runs",
      description = "Where logs and the data directory go. Default: ${DEFAULT-VALUE}")
  Path workRoot;

  private static final long SUSTAIN_INTERVAL_NANOS = TimeUnit.SECONDS.toNanos(5);

  /** A reference load: 10,000 instances on the default 10 s TTL, each renewed every TTL/3. */
  private static final int REFERENCE_INSTANCES = 10_000;

  private static final double REFERENCE_TTL_SECONDS = 10;
  private static final double REFERENCE_KEEPALIVES_PER_SECOND =
      REFERENCE_INSTANCES / (REFERENCE_TTL_SECONDS / 3);

  /** One backend's figures. */
  private record Measured(
      Rates registrations, KeepAliveLoad.Result keepAlives, long cpuMillisPerSecond) {

    double registrationsPerSecond() {
      return registrations.fill();
    }
  }

  /**
   * Registrations per second filling an empty registry, and sustained once it holds every instance
   * (NaN when not measured).
   */
  private record Rates(double fill, double sustained) {}

  @Override
  public Integer call() throws Exception {
    System.out.println("Store: " + Jvm.describeHost());
    System.out.printf(
        "registrations=%d services=%d concurrency=%d keepalive-concurrency=%d keepalive-seconds=%s "
            + "(after %s s warm-up) sustain-seconds=%s (after %s s warm-up) restarts=%d"
            + " routes-by-host=%s%n",
        registrations,
        services,
        concurrency,
        keepAliveConcurrency,
        keepAliveSeconds,
        keepAliveWarmupSeconds,
        sustainSeconds,
        sustainWarmupSeconds,
        restarts,
        routesByHost);
    Path workDir =
        workRoot
            .resolve(
                "store-"
                    + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")))
            .toAbsolutePath();
    Path dataDir = workDir.resolve("data");
    Files.createDirectories(workDir);

    List<Rates> bare = new ArrayList<>();
    if (!noBaseline) {
      bare.add(measureBare(workDir.resolve("bare-1.log")));
    }
    Measured inMemory;
    try (ControlPlaneProcess controlPlane =
        ControlPlaneProcess.start(
            workDir.resolve("in-memory.log"),
            cpJvmOptions,
            List.of("--in-memory"),
            java.util.Optional.empty(),
            settingsYaml())) {
      inMemory = measure("in memory", controlPlane);
    }
    Measured embedded;
    ControlPlaneProcess controlPlane =
        ControlPlaneProcess.start(
            workDir.resolve("embedded.log"),
            cpJvmOptions,
            List.of("--data-dir", dataDir.toString()),
            java.util.Optional.empty(),
            settingsYaml());
    try {
      embedded = measure("embedded (MVStore)", controlPlane);
    } finally {
      controlPlane.kill();
    }
    if (!noBaseline) {
      bare.add(measureBare(workDir.resolve("bare-2.log")));
    }
    Measured etcd = null;
    if (etcdEndpoints != null) {
      try (ControlPlaneProcess replica =
          ControlPlaneProcess.start(
              workDir.resolve("etcd.log"),
              cpJvmOptions,
              List.of("--store", "etcd", "--etcd-endpoints", etcdEndpoints),
              java.util.Optional.empty(),
              settingsYaml())) {
        etcd = measure("etcd", replica);
      }
    }
    System.out.printf(
        "%nregistrations/s (%d calls in flight, %d instances over %d services); filling the empty"
            + " registry%s:%n",
        concurrency,
        registrations,
        services,
        sustainSeconds > 0
            ? String.format(
                ", then sustained once it holds them all (%s s measured after %s s)",
                sustainSeconds, sustainWarmupSeconds)
            : "");
    Rates bareMean =
        new Rates(
            bare.stream().mapToDouble(Rates::fill).average().orElse(Double.NaN),
            bare.stream().mapToDouble(Rates::sustained).average().orElse(Double.NaN));
    if (etcd != null) {
      System.out.printf(
          "  etcd:               %s   (%s)%n",
          rates(etcd.registrations(), bareMean), etcdEndpoints);
    }
    System.out.printf("  in memory:          %s%n", rates(inMemory.registrations(), bareMean));
    System.out.printf(
        "  embedded (MVStore): %s   store file %,d bytes%n",
        rates(embedded.registrations(), bareMean), Files.size(dataDir.resolve("registry.mv.db")));
    if (!noBaseline) {
      System.out.printf(
          "  bare java-control-plane: %s (before and after; its Register stores the instance in a"
              + " map and queues one whole-snapshot publication)%n",
          bare.stream().map(r -> rates(r, null)).toList());
    }

    if (keepAliveSeconds > 0) {
      ResultTable table =
          new ResultTable(
              String.format(
                  "Keep-alives (lease renewals) sustained: %d KeepAlive streams, "
                      + "one renewal in flight on each, over the %,d registered leases; %s s measured after %s s warm-up",
                  inMemory.keepAlives().streams(),
                  registrations,
                  keepAliveSeconds,
                  keepAliveWarmupSeconds),
              "backend",
              "fill registrations/s",
              "keep-alives/s",
              "p50 ms",
              "p99 ms",
              "max ms",
              "errors",
              "control-plane CPU ms/s",
              String.format("vs. %,.0f/s needed", REFERENCE_KEEPALIVES_PER_SECOND));
      addRow(table, "in memory", inMemory);
      addRow(table, "embedded (MVStore)", embedded);
      if (etcd != null) {
        addRow(table, "etcd (" + etcdEndpoints + ")", etcd);
      }
      table.print(System.out);
      System.out.printf(
          "Reference: %,d instances on the default %.0f s TTL, each renewed every TTL/3, send "
              + "~%,.0f keep-alives/s: what a control plane must sustain for such a fleet.%n",
          REFERENCE_INSTANCES, REFERENCE_TTL_SECONDS, REFERENCE_KEEPALIVES_PER_SECOND);
      for (Measured measured :
          etcd == null ? List.of(inMemory, embedded) : List.of(inMemory, embedded, etcd)) {
        if (measured.keepAlives().firstError() != null) {
          System.out.println("first keep-alive error: " + measured.keepAlives().firstError());
        }
      }
    }

    System.out.printf(
        "%nrestart after kill -9 with %d registrations stored (process start -> ...):%n",
        registrations);
    measureRestarts("embedded", workDir, List.of("--data-dir", dataDir.toString()));
    if (etcdEndpoints != null) {
      // A replica restarted alone on etcd: it reads the whole registry (in pages) before it serves.
      measureRestarts(
          "etcd", workDir, List.of("--store", "etcd", "--etcd-endpoints", etcdEndpoints));
    }
    System.out.println("\nlogs and data: " + workDir);
    return 0;
  }

  private void measureRestarts(String backend, Path workDir, List<String> arguments)
      throws Exception {
    for (int i = 1; i <= restarts; i++) {
      long started = System.nanoTime();
      ControlPlaneProcess restarted =
          ControlPlaneProcess.start(
              workDir.resolve(backend + "-restart-" + i + ".log"),
              cpJvmOptions,
              arguments,
              java.util.Optional.empty(),
              settingsYaml());
      long serving = System.nanoTime() - started;
      AtomicLong firstAnswer = new AtomicLong();
      AtomicInteger clusters = new AtomicInteger();
      probeFirstAnswer(restarted.grpcPort(), firstAnswer, clusters);
      try {
        System.out.printf(
            "  %s restart %d: gRPC health SERVING after %s ms (polled every 100 ms); first CDS answer "
                + "after %s ms with %d clusters%n",
            backend,
            i,
            Stats.ms(serving / 1e6),
            // No answer within the probe's deadline is no time at all, not a negative one.
            firstAnswer.get() == 0 ? "(no answer)" : Stats.ms((firstAnswer.get() - started) / 1e6),
            clusters.get());
      } finally {
        restarted.kill();
      }
    }
  }

  /** Registrations/s of the bare java-control-plane server, in its own JVM like Signalbox. */
  private Rates measureBare(Path log) throws Exception {
    try (ControlPlaneProcess bareServer = ControlPlaneProcess.startBare(log, cpJvmOptions)) {
      Rates registered = registerAll(bareServer.grpcPort(), new String[registrations]);
      System.out.printf("  bare java-control-plane: %s%n", rates(registered, null));
      return registered;
    }
  }

  /** "fill 1,234/s (0.50 x bare), sustained 2,345/s (0.40 x bare)", ratios when bare is given. */
  private static String rates(Rates rates, Rates bare) {
    String fill =
        String.format("fill %,6.0f/s%s", rates.fill(), ratio(rates.fill(), bare, Rates::fill));
    return Double.isNaN(rates.sustained())
        ? fill
        : fill
            + String.format(
                ", sustained %,6.0f/s%s",
                rates.sustained(), ratio(rates.sustained(), bare, Rates::sustained));
  }

  private static String ratio(
      double rate, Rates bare, java.util.function.ToDoubleFunction<Rates> which) {
    return bare == null || Double.isNaN(which.applyAsDouble(bare))
        ? ""
        : String.format(" (%.2f x bare)", rate / which.applyAsDouble(bare));
  }

  private Measured measure(String backend, ControlPlaneProcess controlPlane) throws Exception {
    String[] leaseIds = new String[registrations];
    Rates registered = registerAll(controlPlane.grpcPort(), leaseIds);
    System.out.printf("  %s: %s%n", backend, rates(registered, null));
    if (keepAliveSeconds <= 0) {
      return new Measured(registered, null, -1);
    }
    long cpuBefore = controlPlane.cpuMillis();
    long before = System.nanoTime();
    KeepAliveLoad.Result keepAlives =
        new KeepAliveLoad(List.of(leaseIds), keepAliveConcurrency)
            .run(controlPlane.grpcPort(), keepAliveWarmupSeconds, keepAliveSeconds);
    long cpuMillisPerSecond =
        Math.round((controlPlane.cpuMillis() - cpuBefore) / ((System.nanoTime() - before) / 1e9));
    System.out.printf(
        "  %s: %,.0f keep-alives/s (p50 %s ms, p99 %s ms, %d errors)%n",
        backend,
        keepAlives.perSecond(),
        Stats.ms(keepAlives.latency().percentileMs(50)),
        Stats.ms(keepAlives.latency().percentileMs(99)),
        keepAlives.errors());
    return new Measured(registered, keepAlives, cpuMillisPerSecond);
  }

  private static void addRow(ResultTable table, String backend, Measured measured) {
    KeepAliveLoad.Result keepAlives = measured.keepAlives();
    table.row(
        backend,
        String.format("%,.0f", measured.registrationsPerSecond()),
        String.format("%,.0f", keepAlives.perSecond()),
        Stats.ms(keepAlives.latency().percentileMs(50)),
        Stats.ms(keepAlives.latency().percentileMs(99)),
        Stats.ms(keepAlives.latency().maxMs()),
        keepAlives.errors(),
        measured.cpuMillisPerSecond(),
        String.format("%.1f×", keepAlives.perSecond() / REFERENCE_KEEPALIVES_PER_SECOND));
  }

  /**
   * Registers every instance (the fill), then registers them again in turn for the sustained
   * window, filling in the lease ids the calls were granted.
   */
  private Rates registerAll(int grpcPort, String[] leaseIds) throws Exception {
    ManagedChannel channel =
        NettyChannelBuilder.forAddress("127.0.0.1", grpcPort).usePlaintext().build();
    ExecutorService workers = Executors.newFixedThreadPool(concurrency);
    try {
      RegistryGrpc.RegistryBlockingStub registry = RegistryGrpc.newBlockingStub(channel);
      // Warm-up: connections and JIT, on instances that are then replaced by the measured calls.
      for (int i = 0; i < Math.min(500, registrations); i++) {
        registry.register(request(i, 0));
      }
      AtomicInteger next = new AtomicInteger();
      long started = System.nanoTime();
      runWorkers(
          workers,
          () -> {
            for (int i = next.getAndIncrement(); i < registrations; i = next.getAndIncrement()) {
              leaseIds[i] = register(registry, request(i, 0));
            }
          });
      double fill = registrations / ((System.nanoTime() - started) / 1e9);
      if (sustainSeconds <= 0) {
        return new Rates(fill, Double.NaN);
      }
      // Back to back as in the fill: each instance registered again at another port (an endpoint
      // change the pipeline must publish), in turn, over a registry that holds them all.
      AtomicLong calls = new AtomicLong();
      AtomicLong measured = new AtomicLong();
      long sustainStart = System.nanoTime();
      long windowStart = sustainStart + (long) (sustainWarmupSeconds * 1e9);
      long windowEnd = windowStart + (long) (sustainSeconds * 1e9);
      // Calls completed per 5 s from the start: the JIT's warm-up shows as a rising rate.
      AtomicLongArray perInterval =
          new AtomicLongArray((int) ((windowEnd - sustainStart) / SUSTAIN_INTERVAL_NANOS) + 1);
      runWorkers(
          workers,
          () -> {
            for (long call = calls.getAndIncrement(); ; call = calls.getAndIncrement()) {
              int i = (int) (call % registrations);
              leaseIds[i] = register(registry, request(i, 1 + call / registrations));
              long now = System.nanoTime();
              if (now >= windowEnd) {
                return;
              }
              perInterval.incrementAndGet((int) ((now - sustainStart) / SUSTAIN_INTERVAL_NANOS));
              if (now >= windowStart) {
                measured.incrementAndGet();
              }
            }
          });
      StringBuilder trace = new StringBuilder();
      for (int k = 0; k < perInterval.length() - 1; k++) {
        trace.append(String.format(" %,.0f", perInterval.get(k) / (SUSTAIN_INTERVAL_NANOS / 1e9)));
      }
      System.out.printf("    sustained registrations/s per 5 s from the start:%s%n", trace);
      return new Rates(fill, measured.get() / sustainSeconds);
    } finally {
      workers.shutdownNow();
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  private static String register(RegistryGrpc.RegistryBlockingStub registry, RegisterRequest r) {
    return registry.withDeadlineAfter(30, TimeUnit.SECONDS).register(r).getLeaseId();
  }

  /** Runs the loop on each of {@link #concurrency} workers and waits for all of them. */
  private void runWorkers(ExecutorService workers, Runnable loop) throws Exception {
    List<Future<?>> running = new ArrayList<>();
    for (int w = 0; w < concurrency; w++) {
      running.add(workers.submit(loop));
    }
    for (Future<?> future : running) {
      future.get();
    }
  }

  /** With a host per service, as many virtual hosts as services are allowed. */
  private String settingsYaml() {
    return routesByHost ? "limits: {maxHosts: " + Math.max(1_000, services) + "}\n" : "";
  }

  /** Instance {@code i}'s registration; each generation at another port. */
  private RegisterRequest request(int i, long generation) {
    String service = "svc-" + (i % services);
    return RegisterRequest.newBuilder()
        .setService(service)
        .setInstance(
            Instance.newBuilder()
                .setId(service + "-" + i)
                // Private addresses, one per instance: loopback ports would run into the control
                // plane's own ports (refused) beyond ~29,000 instances.
                .setHost("10." + (i >> 16 & 255) + "." + (i >> 8 & 255) + "." + (i & 255))
                .setPort(8080 + (int) (generation % 1000)))
        .addRoutes(
            routesByHost
                ? Route.newBuilder()
                    .setPath(PathMatch.newBuilder().setPrefix("/"))
                    .addHosts(service + ".example.com")
                : Route.newBuilder().setPath(PathMatch.newBuilder().setPrefix("/" + service)))
        .setLeaseTtl(com.google.protobuf.Duration.newBuilder().setSeconds(300))
        .build();
  }

  /** Asks for clusters over ADS (as a new Envoy would), and keeps asking until an answer comes. */
  private static void probeFirstAnswer(int port, AtomicLong firstAnswer, AtomicInteger clusters) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (System.nanoTime() < deadline && firstAnswer.get() == 0) {
      ManagedChannel channel =
          NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
      try {
        CompletableFuture<DiscoveryResponse> answer = new CompletableFuture<>();
        StreamObserver<DiscoveryRequest> requests =
            AggregatedDiscoveryServiceGrpc.newStub(channel)
                .streamAggregatedResources(
                    new StreamObserver<>() {
                      @Override
                      public void onNext(DiscoveryResponse response) {
                        answer.complete(response);
                      }

                      @Override
                      public void onError(Throwable t) {
                        answer.completeExceptionally(t);
                      }

                      @Override
                      public void onCompleted() {
                        answer.completeExceptionally(new IllegalStateException("stream ended"));
                      }
                    });
        requests.onNext(
            DiscoveryRequest.newBuilder()
                .setNode(Node.newBuilder().setId("bench-probe").setCluster("edge"))
                .setTypeUrl(CDS)
                .build());
        DiscoveryResponse response = answer.get(30, TimeUnit.SECONDS);
        firstAnswer.set(System.nanoTime());
        clusters.set(response.getResourcesCount());
      } catch (Exception e) {
        Jvm.sleepMs(10);
      } finally {
        channel.shutdownNow();
      }
    }
  }
}
