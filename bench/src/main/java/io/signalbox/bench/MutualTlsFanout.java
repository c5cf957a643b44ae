package io.signalbox.bench;

import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.grpc.ManagedChannel;
import io.signalbox.ca.CertificateUsage;
import io.signalbox.registry.v1.RegistryGrpc;
import io.signalbox.testing.TestCertificates;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * What mutual TLS costs a fleet: two control planes in their own JVMs, one plaintext and one over
 * mTLS, each with N delta-xDS clients on one connection each (as a fleet of Envoys has). Rounds
 * alternate between the two, back to back; each registers a new instance and times until the last
 * client has it. Handshakes happen when clients connect, outside the rounds; connecting N clients
 * (handshake and initial sync) is timed on its own, first and again after every connection was
 * closed (a fleet reconnecting).
 */
@Command(
    name = "mtls-fanout",
    aliases = "MutualTlsFanout",
    mixinStandardHelpOptions = true,
    description =
        "Delta-xDS fan-out over mutual TLS against plaintext, alternating, one connection per client.")
final class MutualTlsFanout implements Callable<Integer> {

  private static final String NODE_CLUSTER = "edge";
  private static final String CLIENT_IDENTITY = "spiffe://signalbox.local/bench/client";

  @Option(
      names = "--clients",
      defaultValue = "1000",
      description = "Simulated Envoys per control plane. " + "Default: ${DEFAULT-VALUE}")
  int clients;

  @Option(
      names = "--rounds",
      defaultValue = "30",
      description = "Measured rounds per mode. Default: ${DEFAULT-VALUE}")
  int rounds;

  @Option(
      names = "--warmup",
      defaultValue = "5",
      description = "Discarded rounds per mode. Default: ${DEFAULT-VALUE}")
  int warmup;

  @Option(
      names = "--services",
      defaultValue = "50",
      description = "Services registered before clients connect. " + "Default: ${DEFAULT-VALUE}")
  int services;

  @Option(
      names = "--round-timeout-ms",
      defaultValue = "20000",
      description = "Default: ${DEFAULT-VALUE}")
  int roundTimeoutMs;

  @Option(
      names = "--node",
      defaultValue = "ENVOY",
      description =
          "What the simulated Envoys say of themselves, in each stream's first request as"
              + " Signalbox's bootstraps have it: ENVOY (Envoy 1.40's node, 516 extensions) or"
              + " MINIMAL (id and cluster). Default: ${DEFAULT-VALUE}")
  EnvoyNodes nodes;

  @Option(
      names = "--work-dir",
      defaultValue = "target/bench-runs",
      description = "Default: ${DEFAULT-VALUE}")
  Path workRoot;

  /** One control plane and its clients. */
  private final class Side implements AutoCloseable {
    final String name;
    final ControlPlaneProcess controlPlane;
    final RegistryGrpc.RegistryBlockingStub registry;
    final AtomicReference<Round> current = new AtomicReference<>();
    final List<DeltaXdsClient> fleet = new ArrayList<>();
    final List<ManagedChannel> channels = new ArrayList<>();
    final ManagedChannel registryChannel;
    final Stats last = new Stats();
    final List<Long> connectMs = new ArrayList<>();
    long cpuMillis;

    Side(String name, ControlPlaneProcess controlPlane) {
      this.name = name;
      this.controlPlane = controlPlane;
      this.registryChannel = controlPlane.channel().build();
      this.registry = RegistryGrpc.newBlockingStub(registryChannel);
    }

    /** Opens one connection per client and waits until every client holds every assignment. */
    void connectFleet() {
      fleet.clear();
      long start = System.nanoTime();
      for (int i = 0; i < clients; i++) {
        // directExecutor: the clients' callbacks are short and non-blocking, so they run on Netty's
        // event loops.
        ManagedChannel channel =
            controlPlane.channel().directExecutor().maxInboundMessageSize(64 * 1024 * 1024).build();
        channels.add(channel);
        DeltaXdsClient client =
            new DeltaXdsClient(
                i, nodes.of(SimulatedEnvoy.edgeNode(i, NODE_CLUSTER)), true, current::get, false);
        fleet.add(client);
        client.start(AggregatedDiscoveryServiceGrpc.newStub(channel));
      }
      DeltaFanout.awaitSynced(fleet, services, controlPlane, 120);
      connectMs.add(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start));
    }

    void disconnectFleet() {
      fleet.forEach(DeltaXdsClient::close);
      channels.forEach(ManagedChannel::shutdownNow);
      channels.clear();
    }

    /** One change; the time until the last client has it, or -1 after the timeout. */
    long round(int r, boolean measured) throws InterruptedException {
      int service = r % services;
      int port = 40000 + r;
      Round round = new Round("svc-" + DeltaFanout.serviceName(service), port, clients);
      current.set(round);
      long cpuBefore = controlPlane.cpuMillis();
      DeltaFanout.register(registry, service, "extra-" + r, port);
      long t0 = System.nanoTime();
      boolean complete = round.allArrived.await(roundTimeoutMs, TimeUnit.MILLISECONDS);
      current.set(null);
      if (!complete) {
        return -1;
      }
      long latest = 0;
      for (long arrival : round.arrivals) {
        latest = Math.max(latest, arrival);
      }
      if (measured) {
        last.add(Math.max(0, latest - t0));
        cpuMillis += controlPlane.cpuMillis() - cpuBefore;
      }
      return latest - t0;
    }

    @Override
    public void close() {
      disconnectFleet();
      registryChannel.shutdownNow();
      controlPlane.close();
    }
  }

  @Override
  public Integer call() throws Exception {
    System.out.println("MutualTlsFanout: " + Jvm.describeHost());
    System.out.printf(
        "clients=%d (one connection each) rounds=%d warmup=%d services=%d%n",
        clients, rounds, warmup, services);
    Path workDir =
        workRoot
            .resolve(
                "mtls-fanout-"
                    + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")))
            .toAbsolutePath();
    Files.createDirectories(workDir);
    ControlPlaneProcess.MutualTls tls = certificates(workDir);
    try (Side plain =
            new Side(
                "plaintext",
                ControlPlaneProcess.start(
                    workDir.resolve("plaintext.log"),
                    List.of(),
                    List.of("--in-memory"),
                    Optional.empty()));
        Side mutual =
            new Side(
                "mTLS",
                ControlPlaneProcess.start(
                    workDir.resolve("mtls.log"),
                    List.of(),
                    List.of("--in-memory"),
                    Optional.of(tls)))) {
      List<Side> sides = List.of(plain, mutual);
      for (Side side : sides) {
        for (int s = 0; s < services; s++) {
          DeltaFanout.register(side.registry, s, "base", 20000 + s);
        }
        side.connectFleet();
        System.out.printf(
            "%s: %d clients connected and synced in %d ms%n",
            side.name, clients, side.connectMs.get(0));
      }
      Jvm.sleepMs(2000);
      int timeouts = 0;
      for (int r = 0; r < warmup + rounds; r++) {
        // Alternating which goes first, so neither always runs right after the other's GC or JIT
        // work.
        List<Side> order = r % 2 == 0 ? sides : List.of(mutual, plain);
        for (Side side : order) {
          if (side.round(r, r >= warmup) < 0) {
            timeouts++;
            System.err.printf("%s round %d timed out%n", side.name, r);
          }
        }
      }
      for (Side side : sides) {
        side.disconnectFleet();
        Jvm.sleepMs(1000);
        side.connectFleet();
        System.out.printf(
            "%s: %d clients reconnected and synced in %d ms%n",
            side.name, clients, side.connectMs.get(1));
      }

      ResultTable table =
          new ResultTable(
              String.format(
                  "MutualTlsFanout: Register returned -> LAST of %d delta "
                      + "clients (one connection each) has the new endpoint; %d rounds per mode, alternating",
                  clients, rounds),
              "mode",
              "p50 ms",
              "p99 ms",
              "mean ms",
              "control-plane CPU ms/round",
              "connect N clients ms",
              "reconnect N clients ms");
      for (Side side : sides) {
        table.row(
            side.name,
            Stats.ms(side.last.percentileMs(50)),
            Stats.ms(side.last.percentileMs(99)),
            Stats.ms(side.last.meanMs()),
            String.format("%.1f", side.cpuMillis / (double) rounds),
            side.connectMs.get(0),
            side.connectMs.get(1));
      }
      table.row(
          "mTLS / plaintext",
          ratio(mutual.last.percentileMs(50), plain.last.percentileMs(50)),
          ratio(mutual.last.percentileMs(99), plain.last.percentileMs(99)),
          ratio(mutual.last.meanMs(), plain.last.meanMs()),
          ratio(mutual.cpuMillis, plain.cpuMillis),
          ratio(mutual.connectMs.get(0), plain.connectMs.get(0)),
          ratio(mutual.connectMs.get(1), plain.connectMs.get(1)));
      table.print(System.out);
      double meanRatio = mutual.last.meanMs() / plain.last.meanMs();
      System.out.printf(
          "target: mTLS costs at most 20%% on the fan-out (mean ratio <= 1.20): %s%n",
          timeouts == 0 && meanRatio <= 1.20 ? "met" : "MISSED");
      System.out.println("logs in " + workDir);
      return timeouts == 0 ? 0 : 1;
    }
  }

  private static String ratio(double a, double b) {
    return b == 0 ? "-" : String.format("%.2f", a / b);
  }

  /**
   * A CA, the control plane's server certificate and the one client identity every simulated client
   * presents.
   */
  private ControlPlaneProcess.MutualTls certificates(Path dir) {
    TestCertificates.Authority ca = TestCertificates.authority("signalbox-bench-ca");
    Path caFile = dir.resolve("ca.pem");
    TestCertificates.replace(caFile, ca.certificatePem());
    ca.issue(
            BigInteger.TWO,
            "CN=signalbox",
            List.of(CertificateUsage.SERVER),
            "localhost",
            "127.0.0.1")
        .writeTo(dir.resolve("server.pem"), dir.resolve("server-key.pem"));
    ca.issue(
            BigInteger.valueOf(3),
            "CN=bench-client",
            List.of(CertificateUsage.CLIENT),
            CLIENT_IDENTITY)
        .writeTo(dir.resolve("client.pem"), dir.resolve("client-key.pem"));
    String serviceNames =
        IntStream.range(0, services)
            .mapToObj(DeltaFanout::serviceName)
            .collect(Collectors.joining(", "));
    String access =
        "access:\n"
            + "  registrants: [{identity: \""
            + CLIENT_IDENTITY
            + "\", services: ["
            + serviceNames
            + "]}]\n"
            + "  envoys: [{identity: \""
            + CLIENT_IDENTITY
            + "\", groups: ["
            + NODE_CLUSTER
            + "]}]\n";
    return new ControlPlaneProcess.MutualTls(
        dir.resolve("server.pem"),
        dir.resolve("server-key.pem"),
        caFile,
        dir.resolve("client.pem"),
        dir.resolve("client-key.pem"),
        access);
  }
}
