package io.signalbox.bench;

import com.google.common.util.concurrent.FutureCallback;
import com.google.common.util.concurrent.Futures;
import com.google.common.util.concurrent.ListenableFuture;
import com.google.common.util.concurrent.MoreExecutors;
import io.envoyproxy.envoy.extensions.common.ratelimit.v3.RateLimitDescriptor;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitRequest;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitResponse;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitServiceGrpc;
import io.grpc.ManagedChannel;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.signalbox.config.RateLimitServiceSpec;
import io.signalbox.ratelimit.CounterKey;
import io.signalbox.ratelimit.FixedWindowCounters;
import io.signalbox.translate.XdsNames;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The built-in rate-limit service (envoy.service.ratelimit.v3.RateLimitService on the control
 * plane's gRPC server), driven over gRPC as Envoy drives it: one ShouldRateLimit per request,
 * descriptors as the translator writes them (route, limit, client address). The control plane runs
 * in its own JVM.
 *
 * <p>Fixed rate: an open loop sends at exact intervals whatever the answers do, and latency is
 * measured from each request's scheduled send time, so a stall shows in the percentiles instead of
 * slowing the sender (no coordinated omission). Max throughput: a closed loop keeps a fixed number
 * of calls in flight.
 */
@Command(
    name = "ratelimit-service",
    aliases = "RateLimitService",
    mixinStandardHelpOptions = true,
    description =
        "Decisions/s and latency of the built-in rate-limit service at a fixed rate, and its maximum.")
final class RateLimitServiceBench implements Callable<Integer> {

  @Option(
      names = "--rate",
      defaultValue = "2000",
      description = "Decisions per second of the fixed-rate phase. Default: ${DEFAULT-VALUE}")
  int rate;

  @Option(
      names = "--duration-s",
      defaultValue = "20",
      description = "Length of each measured phase. Default: ${DEFAULT-VALUE}")
  int durationSeconds;

  @Option(
      names = "--warmup-s",
      defaultValue = "20",
      description =
          "Fixed-rate traffic sent first and discarded (JIT, connections). Default: ${DEFAULT-VALUE}")
  int warmupSeconds;

  @Option(
      names = "--clients",
      defaultValue = "1000",
      description =
          "Distinct client addresses in the descriptors (one counter each). Default: ${DEFAULT-VALUE}")
  int clients;

  @Option(
      names = "--limit",
      defaultValue = "100/SECOND",
      description = "The limit the descriptors carry. Default: ${DEFAULT-VALUE}")
  String limit;

  @Option(
      names = "--max-in-flight",
      defaultValue = "64",
      description =
          "Calls in flight in the max-throughput phase; 0 skips that phase. Default: ${DEFAULT-VALUE}")
  int maxInFlight;

  @Option(
      names = "--channels",
      defaultValue = "2",
      description =
          "gRPC channels (HTTP/2 connections), like several Envoys. Default: ${DEFAULT-VALUE}")
  int channels;

  @Option(
      names = "--counter-threads",
      defaultValue = "2",
      description =
          "Threads of the in-process counter phase (FixedWindowCounters alone, no gRPC); 0 skips it. "
              + "Default: ${DEFAULT-VALUE}")
  int counterThreads;

  @Option(
      names = "--no-health-baseline",
      description =
          "Skip the fixed-rate run against the same server's gRPC health check (the transport baseline).")
  boolean noHealthBaseline;

  @Option(
      names = "--cp-jvm-opt",
      description = "Extra JVM option for the control-plane process (repeatable).")
  List<String> cpJvmOptions = new ArrayList<>();

  @Option(
      names = "--work-dir",
      defaultValue = "target/bench-runs",
      description = "Where control-plane logs go. Default: ${DEFAULT-VALUE}")
  Path workRoot;

  private record Phase(
      String name,
      long sent,
      long answered,
      long overLimit,
      long errors,
      double seconds,
      Stats latency,
      double cpCpuMsPerSecond) {
    double decisionsPerSecond() {
      return answered / seconds;
    }
  }

  /** One call of the phase's RPC; the future's value says whether the answer was OVER_LIMIT. */
  private interface Caller {
    ListenableFuture<Boolean> call(long index);
  }

  private List<RateLimitServiceGrpc.RateLimitServiceFutureStub> stubs;
  private List<HealthGrpc.HealthFutureStub> healthStubs;
  private List<RateLimitRequest> requests;

  @Override
  public Integer call() throws Exception {
    System.out.println("RateLimitService: " + Jvm.describeHost());
    System.out.printf(
        "rate=%d/s duration=%ds warmup=%ds clients=%d limit=%s max-in-flight=%d channels=%d%n",
        rate, durationSeconds, warmupSeconds, clients, limit, maxInFlight, channels);
    Path workDir =
        workRoot
            .resolve(
                "ratelimit-service-"
                    + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")))
            .toAbsolutePath();
    Files.createDirectories(workDir);
    requests = new ArrayList<>();
    for (int i = 0; i < clients; i++) {
      requests.add(request("10." + (i >> 16 & 255) + "." + (i >> 8 & 255) + "." + (i & 255)));
    }
    List<Phase> phases = new ArrayList<>();
    try (Cleanup cleanup = new Cleanup()) {
      ControlPlaneProcess controlPlane =
          cleanup.add(
              ControlPlaneProcess.start(workDir.resolve("control-plane.log"), cpJvmOptions));
      stubs = new ArrayList<>();
      healthStubs = new ArrayList<>();
      for (int i = 0; i < channels; i++) {
        ManagedChannel channel =
            NettyChannelBuilder.forAddress("127.0.0.1", controlPlane.grpcPort())
                .usePlaintext()
                .build();
        cleanup.add(() -> channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS));
        stubs.add(RateLimitServiceGrpc.newFutureStub(channel));
        healthStubs.add(HealthGrpc.newFutureStub(channel));
      }
      fixedRate("warmup", warmupSeconds, controlPlane, this::shouldRateLimit);
      phases.add(
          fixedRate("fixed " + rate + "/s", durationSeconds, controlPlane, this::shouldRateLimit));
      if (maxInFlight > 0) {
        phases.add(maxThroughput(durationSeconds, controlPlane));
      }
      if (!noHealthBaseline) {
        phases.add(
            fixedRate(
                "baseline: health check " + rate + "/s",
                durationSeconds,
                controlPlane,
                this::healthCheck));
      }
    }
    ResultTable table =
        new ResultTable(
            String.format(
                "RateLimitService: ShouldRateLimit over gRPC on loopback, "
                    + "%d client descriptors, limit %s, %d channels, %d s per phase",
                clients, limit, channels, durationSeconds),
            "phase",
            "decisions/s",
            "p50 ms",
            "p99 ms",
            "p99.9 ms",
            "max ms",
            "over limit",
            "errors",
            "control-plane CPU ms/s");
    for (Phase phase : phases) {
      table.row(
          phase.name,
          String.format("%.0f", phase.decisionsPerSecond()),
          Stats.ms(phase.latency.percentileMs(50)),
          Stats.ms(phase.latency.percentileMs(99)),
          Stats.ms(phase.latency.percentileMs(99.9)),
          Stats.ms(phase.latency.maxMs()),
          phase.overLimit,
          phase.errors,
          phase.cpCpuMsPerSecond < 0 ? "-" : String.format("%.0f", phase.cpCpuMsPerSecond));
    }
    table.print(System.out);
    if (counterThreads > 0) {
      countersAlone();
    }
    return 0;
  }

  /**
   * The service's own work without gRPC: the descriptor's {@link CounterKey} and {@link
   * FixedWindowCounters#add} on the same descriptors, in this JVM, as fast as {@code
   * counterThreads} threads can. Shows how much of a decision's cost is counting and how much is
   * transport.
   */
  private void countersAlone() throws Exception {
    FixedWindowCounters counters =
        new FixedWindowCounters(
            Clock.systemUTC(), () -> RateLimitServiceSpec.DEFAULT_COUNTER_MEMORY_BYTES);
    List<RateLimitDescriptor> keys = new ArrayList<>();
    for (int i = 0; i < clients; i++) {
      keys.add(request("10.0." + (i >> 8 & 255) + "." + (i & 255)).getDescriptors(0));
    }
    Duration window = Duration.ofSeconds(1);
    long seconds = Math.max(2, durationSeconds / 4);
    for (int round = 0; round < 2; round++) {
      AtomicLong operations = new AtomicLong();
      long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
      List<Thread> threads = new ArrayList<>();
      for (int t = 0; t < counterThreads; t++) {
        int offset = t * 7919;
        Thread thread =
            new Thread(
                () -> {
                  long done = 0;
                  for (int i = offset; System.nanoTime() < end; i++) {
                    for (int j = 0; j < 1000; j++) {
                      counters.add(
                          CounterKey.of(keys.get((i * 1000 + j) % keys.size())), window, 1);
                    }
                    done += 1000;
                  }
                  operations.addAndGet(done);
                });
        threads.add(thread);
        thread.start();
      }
      for (Thread thread : threads) {
        thread.join();
      }
      if (round == 1) {
        System.out.printf(
            "%nFixedWindowCounters alone (this JVM, %d threads, %d keys, %d s): %.2f M adds/s, "
                + "%.0f ns per add per thread%n",
            counterThreads,
            clients,
            seconds,
            operations.get() / (double) seconds / 1e6,
            counterThreads * seconds * 1e9 / operations.get());
      }
    }
  }

  /** Sends at exact 1/rate intervals; latency from each call's scheduled time to its answer. */
  private Phase fixedRate(String name, int seconds, ControlPlaneProcess controlPlane, Caller caller)
      throws InterruptedException {
    long total = (long) rate * seconds;
    long intervalNanos = 1_000_000_000L / rate;
    ConcurrentLinkedQueue<Long> latencies = new ConcurrentLinkedQueue<>();
    AtomicLong overLimit = new AtomicLong();
    AtomicLong errors = new AtomicLong();
    CountDownLatch done = new CountDownLatch((int) total);
    long cpuBefore = controlPlane.cpuMillis();
    long start = System.nanoTime();
    for (long i = 0; i < total; i++) {
      long scheduled = start + i * intervalNanos;
      long wait;
      while ((wait = scheduled - System.nanoTime()) > 0) {
        LockSupport.parkNanos(wait);
      }
      send(caller, i, scheduled, latencies, overLimit, errors, done::countDown);
    }
    if (!done.await(30, TimeUnit.SECONDS)) {
      System.out.println(name + ": " + done.getCount() + " calls unanswered after 30 s");
    }
    double elapsed = (System.nanoTime() - start) / 1e9;
    return phase(name, total, latencies, overLimit, errors, elapsed, controlPlane, cpuBefore);
  }

  /** Keeps {@code maxInFlight} calls outstanding for the phase's duration. */
  private Phase maxThroughput(int seconds, ControlPlaneProcess controlPlane)
      throws InterruptedException {
    Semaphore inFlight = new Semaphore(maxInFlight);
    ConcurrentLinkedQueue<Long> latencies = new ConcurrentLinkedQueue<>();
    AtomicLong overLimit = new AtomicLong();
    AtomicLong errors = new AtomicLong();
    long cpuBefore = controlPlane.cpuMillis();
    long start = System.nanoTime();
    long end = start + TimeUnit.SECONDS.toNanos(seconds);
    long sent = 0;
    while (System.nanoTime() < end) {
      if (!inFlight.tryAcquire(100, TimeUnit.MILLISECONDS)) {
        continue;
      }
      send(
          this::shouldRateLimit,
          sent++,
          System.nanoTime(),
          latencies,
          overLimit,
          errors,
          inFlight::release);
    }
    if (!inFlight.tryAcquire(maxInFlight, 30, TimeUnit.SECONDS)) {
      System.out.println("max throughput: calls unanswered after 30 s");
    }
    double elapsed = (System.nanoTime() - start) / 1e9;
    return phase(
        "max (" + maxInFlight + " in flight)",
        sent,
        latencies,
        overLimit,
        errors,
        elapsed,
        controlPlane,
        cpuBefore);
  }

  private void send(
      Caller caller,
      long index,
      long startNanos,
      ConcurrentLinkedQueue<Long> latencies,
      AtomicLong overLimit,
      AtomicLong errors,
      Runnable finished) {
    Futures.addCallback(
        caller.call(index),
        new FutureCallback<>() {
          @Override
          public void onSuccess(Boolean overTheLimit) {
            latencies.add(System.nanoTime() - startNanos);
            if (overTheLimit) {
              overLimit.incrementAndGet();
            }
            finished.run();
          }

          @Override
          public void onFailure(Throwable failure) {
            errors.incrementAndGet();
            finished.run();
          }
        },
        MoreExecutors.directExecutor());
  }

  private ListenableFuture<Boolean> shouldRateLimit(long index) {
    RateLimitServiceGrpc.RateLimitServiceFutureStub stub = stubs.get((int) (index % stubs.size()));
    RateLimitRequest request = requests.get((int) (index % requests.size()));
    return Futures.transform(
        stub.withDeadlineAfter(5, TimeUnit.SECONDS).shouldRateLimit(request),
        response -> response.getOverallCode() == RateLimitResponse.Code.OVER_LIMIT,
        MoreExecutors.directExecutor());
  }

  /** The cheapest call the same server answers: what gRPC alone costs on this machine. */
  private ListenableFuture<Boolean> healthCheck(long index) {
    HealthGrpc.HealthFutureStub stub = healthStubs.get((int) (index % healthStubs.size()));
    return Futures.transform(
        stub.withDeadlineAfter(5, TimeUnit.SECONDS).check(HealthCheckRequest.getDefaultInstance()),
        response -> false,
        MoreExecutors.directExecutor());
  }

  private static Phase phase(
      String name,
      long sent,
      ConcurrentLinkedQueue<Long> latencies,
      AtomicLong overLimit,
      AtomicLong errors,
      double elapsed,
      ControlPlaneProcess controlPlane,
      long cpuBefore) {
    Stats stats = new Stats();
    latencies.forEach(stats::add);
    long cpuAfter = controlPlane.cpuMillis();
    double cpu = cpuBefore < 0 || cpuAfter < 0 ? -1 : (cpuAfter - cpuBefore) / elapsed;
    Phase phase =
        new Phase(name, sent, stats.count(), overLimit.get(), errors.get(), elapsed, stats, cpu);
    System.out.printf(
        "%s: %d sent, %d answered in %.1f s (%.0f/s), p50 %s ms, p99 %s ms%n",
        name,
        sent,
        stats.count(),
        elapsed,
        phase.decisionsPerSecond(),
        Stats.ms(stats.percentileMs(50)),
        Stats.ms(stats.percentileMs(99)));
    return phase;
  }

  /** As Envoy sends it for a GLOBAL per-client-IP limit (see GlobalRateLimitFilterTranslator). */
  private RateLimitRequest request(String clientAddress) {
    return RateLimitRequest.newBuilder()
        .setDomain(XdsNames.RATE_LIMIT_DOMAIN)
        .addDescriptors(
            RateLimitDescriptor.newBuilder()
                .addEntries(
                    entry(
                        XdsNames.RATE_LIMIT_ROUTE_KEY, XdsNames.route("orders", "prefix /orders")))
                .addEntries(entry(XdsNames.RATE_LIMIT_LIMIT_KEY, limit))
                .addEntries(entry(XdsNames.RATE_LIMIT_CLIENT_IP_KEY, clientAddress)))
        .build();
  }

  private static RateLimitDescriptor.Entry entry(String key, String value) {
    return RateLimitDescriptor.Entry.newBuilder().setKey(key).setValue(value).build();
  }
}
