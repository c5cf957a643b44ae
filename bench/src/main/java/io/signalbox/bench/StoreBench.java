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
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The registry store: registrations per second over the registry API with the embedded store (every change
 * committed to disk before it is acknowledged) and in memory; then kill -9 and the time from starting a new process on
 * the same data directory to its first xDS answer holding every stored registration.
 */
@Command(name = "store", mixinStandardHelpOptions = true,
    description = "Registrations/s on the embedded store vs. in memory; restart-to-first-xDS-answer with N stored.")
final class StoreBench implements java.util.concurrent.Callable<Integer> {

  private static final String CDS = "type.googleapis.com/envoy.config.cluster.v3.Cluster";

  @Option(names = "--registrations", defaultValue = "10000",
      description = "Instances registered (and stored). Default: ${DEFAULT-VALUE}")
  int registrations;

  @Option(names = "--services", defaultValue = "100",
      description = "Services they are spread over, one route each. Default: ${DEFAULT-VALUE}")
  int services;

  @Option(names = "--concurrency", defaultValue = "16",
      description = "Register calls in flight. Default: ${DEFAULT-VALUE}")
  int concurrency;

  @Option(names = "--restarts", defaultValue = "3",
      description = "kill -9 and restart this many times. Default: ${DEFAULT-VALUE}")
  int restarts;

  @Option(names = "--etcd-endpoints", paramLabel = "URL[,URL...]",
      description = "Also measure registrations/s with --store etcd against this etcd (start one with "
          + "scripts/install-etcd.sh's /usr/bin/etcd; its registry prefix is left behind).")
  String etcdEndpoints;

  @Option(names = "--cp-jvm-opt", description = "JVM option for the control plane (repeatable).")
  List<String> cpJvmOptions = new ArrayList<>();

  @Option(names = "--work-dir", defaultValue = "target/bench-runs",
      description = "Where logs and the data directory go. Default: ${DEFAULT-VALUE}")
  Path workRoot;

  @Override
  public Integer call() throws Exception {
    System.out.println("Store: " + Jvm.describeHost());
    System.out.printf("registrations=%d services=%d concurrency=%d restarts=%d%n", registrations, services,
        concurrency, restarts);
    Path workDir = workRoot.resolve("store-" + LocalDateTime.now().format(
        DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss"))).toAbsolutePath();
    Path dataDir = workDir.resolve("data");
    Files.createDirectories(workDir);

    double inMemory;
    try (ControlPlaneProcess controlPlane = ControlPlaneProcess.start(workDir.resolve("in-memory.log"),
        cpJvmOptions)) {
      inMemory = registerAll(controlPlane.grpcPort());
    }
    double embedded;
    ControlPlaneProcess controlPlane = ControlPlaneProcess.start(workDir.resolve("embedded.log"), cpJvmOptions,
        List.of("--data-dir", dataDir.toString()));
    try {
      embedded = registerAll(controlPlane.grpcPort());
    } finally {
      controlPlane.kill();
    }
    double etcd = Double.NaN;
    if (etcdEndpoints != null) {
      try (ControlPlaneProcess replica = ControlPlaneProcess.start(workDir.resolve("etcd.log"), cpJvmOptions,
          List.of("--store", "etcd", "--etcd-endpoints", etcdEndpoints))) {
        etcd = registerAll(replica.grpcPort());
      }
    }
    System.out.printf("%nregistrations/s (%d calls in flight, %d instances over %d services):%n", concurrency,
        registrations, services);
    if (etcdEndpoints != null) {
      System.out.printf("  etcd:               %,10.0f/s   (%s)%n", etcd, etcdEndpoints);
    }
    System.out.printf("  in memory:          %,10.0f/s%n", inMemory);
    System.out.printf("  embedded (MVStore): %,10.0f/s   store file %,d bytes%n", embedded,
        Files.size(dataDir.resolve("registry.mv.db")));

    System.out.printf("%nrestart after kill -9 with %d registrations stored (process start -> ...):%n",
        registrations);
    for (int i = 1; i <= restarts; i++) {
      long started = System.nanoTime();
      ControlPlaneProcess restarted = ControlPlaneProcess.start(workDir.resolve("restart-" + i + ".log"),
          cpJvmOptions, List.of("--data-dir", dataDir.toString()));
      long serving = System.nanoTime() - started;
      AtomicLong firstAnswer = new AtomicLong();
      AtomicInteger clusters = new AtomicInteger();
      probeFirstAnswer(restarted.grpcPort(), firstAnswer, clusters);
      try {
        System.out.printf("  restart %d: gRPC health SERVING after %s ms (polled every 100 ms); first CDS answer "
                + "after %s ms with %d clusters%n", i, Stats.ms(serving / 1e6),
            Stats.ms((firstAnswer.get() - started) / 1e6), clusters.get());
      } finally {
        restarted.kill();
      }
    }
    System.out.println("\nlogs and data: " + workDir);
    return 0;
  }

  private double registerAll(int grpcPort) throws Exception {
    ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", grpcPort).usePlaintext().build();
    ExecutorService workers = Executors.newFixedThreadPool(concurrency);
    try {
      RegistryGrpc.RegistryBlockingStub registry = RegistryGrpc.newBlockingStub(channel);
      // Warm-up: connections and JIT, on instances that are then replaced by the measured calls.
      for (int i = 0; i < Math.min(500, registrations); i++) {
        registry.register(request(i));
      }
      AtomicInteger next = new AtomicInteger();
      long started = System.nanoTime();
      List<Future<?>> running = new ArrayList<>();
      for (int w = 0; w < concurrency; w++) {
        running.add(workers.submit(() -> {
          for (int i = next.getAndIncrement(); i < registrations; i = next.getAndIncrement()) {
            registry.withDeadlineAfter(30, TimeUnit.SECONDS).register(request(i));
          }
          return null;
        }));
      }
      for (Future<?> future : running) {
        future.get();
      }
      return registrations / ((System.nanoTime() - started) / 1e9);
    } finally {
      workers.shutdownNow();
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  private RegisterRequest request(int i) {
    String service = "svc-" + (i % services);
    return RegisterRequest.newBuilder()
        .setService(service)
        .setInstance(Instance.newBuilder().setId(service + "-" + i).setHost("127.0.0.1")
            .setPort(10_000 + i % 50_000))
        .addRoutes(Route.newBuilder().setPath(PathMatch.newBuilder().setPrefix("/" + service)))
        .setLeaseTtl(com.google.protobuf.Duration.newBuilder().setSeconds(300))
        .build();
  }

  /** Asks for clusters over ADS (as a new Envoy would), and keeps asking until an answer comes. */
  private static void probeFirstAnswer(int port, AtomicLong firstAnswer, AtomicInteger clusters) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (System.nanoTime() < deadline && firstAnswer.get() == 0) {
      ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
      try {
        CompletableFuture<DiscoveryResponse> answer = new CompletableFuture<>();
        StreamObserver<DiscoveryRequest> requests = AggregatedDiscoveryServiceGrpc.newStub(channel)
            .streamAggregatedResources(new StreamObserver<>() {
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
        requests.onNext(DiscoveryRequest.newBuilder()
            .setNode(Node.newBuilder().setId("bench-probe").setCluster("edge"))
            .setTypeUrl(CDS).build());
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
