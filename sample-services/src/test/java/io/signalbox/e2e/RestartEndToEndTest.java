package io.signalbox.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
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
import io.signalbox.testing.EnvoyLogsOnFailure;
import io.signalbox.testing.EnvoyProcess;
import io.signalbox.testing.FreePorts;
import io.signalbox.testing.HttpProbe;
import io.signalbox.testing.LoadLoop;
import io.signalbox.testing.LoopbackUpstreams;
import io.signalbox.testing.TestControlPlanes;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Envoy keeps serving while the control plane is down, and a control plane that comes back on the
 * same data directory answers Envoy with the versions it already has: no failed request, no
 * configuration change. Both xDS modes: over SotW Envoy reconnects with the version it acknowledged
 * last, over delta it lists each resource it holds with its version ({@code
 * initial_resource_versions}); the versions are content hashes, so both find the restarted control
 * plane's snapshot current.
 */
@ExtendWith(EnvoyLogsOnFailure.class)
class RestartEndToEndTest {

  private static final ObjectMapper JSON = new ObjectMapper();

  /**
   * Long enough that no lease needs renewing during the test: the registrations come back from
   * disk, not the SDK.
   */
  private static final long LEASE_TTL_SECONDS = 300;

  /**
   * Envoy stats that count configuration changes; a restart that churns nothing leaves them alone.
   */
  private static final List<String> CHURN_STATS =
      List.of(
          "cluster_manager.cluster_added",
          "cluster_manager.cluster_modified",
          "cluster_manager.cluster_removed",
          "listener_manager.listener_added",
          "listener_manager.listener_modified",
          "listener_manager.listener_removed");

  @TempDir Path dataDirectory;

  private final int grpcPort = FreePorts.allocate();
  private final int gatewayPort = FreePorts.allocate();

  private ControlPlane startControlPlane() {
    return ControlPlane.start(
        TestControlPlanes.onLoopback()
            .grpcPort(grpcPort)
            .adminPort(0)
            .metricsPort(0)
            .gateway(
                LoopbackUpstreams.allowedIn(GatewaySettings.plaintext("127.0.0.1", gatewayPort)))
            .dataDirectory(dataDirectory)
            .build());
  }

  @ParameterizedTest
  @EnumSource(EnvoyProcess.XdsMode.class)
  void killingAndRestartingTheControlPlaneFailsNoRequestAndChangesNoConfiguration(
      EnvoyProcess.XdsMode mode) throws Exception {
    List<AutoCloseable> owned = new ArrayList<>();
    ControlPlane controlPlane = startControlPlane();
    try (EnvoyProcess envoy =
        EnvoyProcess.builder()
            .nodeId("edge-1")
            .nodeCluster("edge")
            .xdsMode(mode)
            .xdsPort(grpcPort)
            .start()) {
      for (String service : List.of("orders", "users")) {
        for (int i = 1; i <= 2; i++) {
          EchoService backend = EchoService.start(service, service + "-" + i, "127.0.0.1", 0);
          owned.add(backend);
          register(service, service + "-" + i, backend.port());
        }
      }
      envoy.awaitReady();
      String orders = "http://127.0.0.1:" + gatewayPort + "/orders";
      String users = "http://127.0.0.1:" + gatewayPort + "/users";
      HttpProbe.awaitStatus(orders, 200, Duration.ofSeconds(15));
      HttpProbe.awaitStatus(users, 200, Duration.ofSeconds(15));
      await()
          .atMost(Duration.ofSeconds(15))
          .until(() -> !controlPlane.publisher().changesPending());
      Map<String, String> versionsBefore = settledVersions(envoy);
      Map<String, Long> churnBefore = churn(envoy);
      assertThat(versionsBefore)
          .containsKeys("clusters", "listeners")
          .hasSizeGreaterThan(4)
          .allSatisfy((name, version) -> assertThat(version).as(name).isNotEmpty());
      String snapshotBefore = controlPlane.publisher().current().version();
      var endpointsBefore = controlPlane.publisher().current().endpoints().resources();
      assertThat(endpointsBefore).hasSize(2);

      LoadLoop load = LoadLoop.start("restart-load", List.of(orders, users), Duration.ofMillis(10));
      try {
        Thread.sleep(500);
        // The stand-in for kill -9: the store's close writes nothing, so this is the state a crash
        // leaves on disk.
        controlPlane.close();
        await()
            .atMost(Duration.ofSeconds(15))
            .until(() -> envoy.statValue("control_plane.connected_state") == 0);
        Thread.sleep(2000);
        long servedDuringOutage = load.succeeded();

        ControlPlane restarted = startControlPlane();
        owned.add(restarted);
        await()
            .atMost(Duration.ofSeconds(45))
            .until(() -> envoy.statValue("control_plane.connected_state") == 1);
        Thread.sleep(1000);
        load.stop();
        System.out.printf(
            "restart e2e (%s): %d requests served, %d during the outage, versions %s%n",
            mode, load.succeeded(), servedDuringOutage, versionsBefore);

        assertThat(load.failures())
            .as("requests failed through Envoy: %s", load.lastFailure())
            .isZero();
        assertThat(servedDuringOutage).isPositive();
        assertThat(load.succeeded()).isGreaterThan(servedDuringOutage);
        assertThat(versions(envoy.configDump()))
            .as("version_info per type and resource")
            .isEqualTo(versionsBefore);
        assertThat(churn(envoy)).isEqualTo(churnBefore);
        assertThat(restarted.publisher().current().version()).isEqualTo(snapshotBefore);
        assertThat(restarted.publisher().current().endpoints().resources())
            .as("every registration is back")
            .isEqualTo(endpointsBefore);
      } finally {
        load.stop();
      }
    } finally {
      controlPlane.close();
      for (AutoCloseable closeable : owned) {
        closeable.close();
      }
    }
  }

  /**
   * The same through a real {@code kill -9}: the control plane runs as its own process ({@code
   * SignalboxMain} with {@code --data-dir}), is killed with SIGKILL while the load loop runs
   * through Envoy, and is started again on the same port and data directory.
   */
  @ParameterizedTest
  @EnumSource(EnvoyProcess.XdsMode.class)
  void killMinusNineOfTheControlPlaneProcessFailsNoRequestAndChangesNoConfiguration(
      EnvoyProcess.XdsMode mode) throws Exception {
    List<AutoCloseable> owned = new ArrayList<>();
    Process controlPlane = startControlPlaneProcess("first");
    try (EnvoyProcess envoy =
        EnvoyProcess.builder()
            .nodeId("edge-k9")
            .nodeCluster("edge")
            .xdsMode(mode)
            .xdsPort(grpcPort)
            .start()) {
      EchoService backend = EchoService.start("orders", "orders-1", "127.0.0.1", 0);
      owned.add(backend);
      register("orders", "orders-1", backend.port());
      envoy.awaitReady();
      String orders = "http://127.0.0.1:" + gatewayPort + "/orders";
      HttpProbe.awaitStatus(orders, 200, Duration.ofSeconds(15));
      Map<String, String> versionsBefore = settledVersions(envoy);
      Map<String, Long> churnBefore = churn(envoy);
      Map<String, Long> updatesBefore = resent(envoy);

      LoadLoop load = LoadLoop.start("restart-load", List.of(orders), Duration.ofMillis(10));
      try {
        Thread.sleep(500);
        controlPlane
            .destroyForcibly()
            .waitFor(10, TimeUnit.SECONDS); // SIGKILL: no shutdown hook, no flush
        await()
            .atMost(Duration.ofSeconds(15))
            .until(() -> envoy.statValue("control_plane.connected_state") == 0);
        Thread.sleep(1000);
        long servedDuringOutage = load.succeeded();

        controlPlane = startControlPlaneProcess("restarted");
        await()
            .atMost(Duration.ofSeconds(45))
            .until(() -> envoy.statValue("control_plane.connected_state") == 1);
        Thread.sleep(1000);
        load.stop();
        System.out.printf(
            "kill -9 e2e (%s): %d requests served, %d during the outage, versions %s%n",
            mode, load.succeeded(), servedDuringOutage, versionsBefore);

        assertThat(load.failures())
            .as("requests failed through Envoy: %s", load.lastFailure())
            .isZero();
        assertThat(servedDuringOutage).isPositive();
        assertThat(versions(envoy.configDump()))
            .as("version_info per type and resource")
            .isEqualTo(versionsBefore);
        assertThat(churn(envoy)).isEqualTo(churnBefore);
        // The restarted process publishes its first snapshot before it listens, so it knows what a
        // reconnecting
        // Envoy holds and sends no cluster or listener again.
        assertThat(resent(envoy)).as("clusters and listeners sent again").isEqualTo(updatesBefore);
      } finally {
        load.stop();
      }
    } finally {
      controlPlane.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      for (AutoCloseable closeable : owned) {
        closeable.close();
      }
    }
  }

  /**
   * A control plane that was itself stalled (SIGSTOP, as a long GC pause or a frozen VM would) for
   * longer than its instances' TTL: on resume it extends their leases by the stall instead of
   * expiring them, so the service keeps answering and no SDK has to register again.
   */
  @org.junit.jupiter.api.Test
  void aControlPlaneStalledLongerThanTheTtlExpiresNoHealthyInstance() throws Exception {
    List<AutoCloseable> owned = new ArrayList<>();
    Process controlPlane = startControlPlaneProcess("stalled");
    try (EnvoyProcess envoy =
        EnvoyProcess.builder()
            .nodeId("edge-stall")
            .nodeCluster("edge")
            .xdsMode(EnvoyProcess.XdsMode.DELTA)
            .xdsPort(grpcPort)
            .start()) {
      io.signalbox.client.RegistryClient sdk =
          io.signalbox.client.RegistryClient.builder()
              .target("127.0.0.1:" + grpcPort)
              .shutdownHook(false)
              .build();
      owned.add(sdk);
      List<io.signalbox.client.Registration> registrations = new ArrayList<>();
      for (String instance : List.of("orders-1", "orders-2")) {
        EchoService backend = EchoService.start("orders", instance, "127.0.0.1", 0);
        owned.add(backend);
        registrations.add(
            sdk.register(
                io.signalbox.client.ServiceRegistration.builder("orders")
                    .instance(instance, "127.0.0.1", backend.port())
                    .route(io.signalbox.client.Routes.prefix("/orders"))
                    .leaseTtl(Duration.ofSeconds(2))
                    .build()));
      }
      envoy.awaitReady();
      String orders = "http://127.0.0.1:" + gatewayPort + "/orders";
      HttpProbe.awaitStatus(orders, 200, Duration.ofSeconds(15));
      List<String> leasesBefore =
          registrations.stream().map(io.signalbox.client.Registration::leaseId).toList();

      signal(controlPlane, "STOP");
      Thread.sleep(6000); // three TTLs without a single renewal heard
      signal(controlPlane, "CONT");
      Thread.sleep(3000);

      assertThat(registrations.stream().map(io.signalbox.client.Registration::leaseId).toList())
          .as("no instance had to register again")
          .isEqualTo(leasesBefore);
      assertThat(HttpProbe.get(orders).status()).isEqualTo(200);
    } finally {
      signal(controlPlane, "CONT");
      controlPlane.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      for (AutoCloseable closeable : owned) {
        closeable.close();
      }
    }
  }

  private static void signal(Process process, String signal) throws Exception {
    new ProcessBuilder("kill", "-" + signal, Long.toString(process.pid()))
        .inheritIO()
        .start()
        .waitFor(5, TimeUnit.SECONDS);
  }

  /**
   * {@code SignalboxMain} in a JVM of its own, on this test's ports and data directory; returns
   * once it listens.
   */
  private Process startControlPlaneProcess(String name) throws Exception {
    java.nio.file.Files.createDirectories(Path.of("target", "control-plane-runs"));
    Path log =
        java.nio.file.Files.createTempFile(
            Path.of("target", "control-plane-runs"), name + "-", ".log");
    // Its backends listen on loopback, which the gateway refuses as an upstream unless the settings
    // allow it.
    Path settings =
        java.nio.file.Files.createTempFile(
            Path.of("target", "control-plane-runs"), name + "-", ".yaml");
    java.nio.file.Files.writeString(
        settings,
        "listeners: [{name: http, address: 127.0.0.1, port: "
            + gatewayPort
            + "}]\nupstreams: {allowCidrs: [127.0.0.0/8]}\n");
    Process process =
        new ProcessBuilder(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp",
                System.getProperty("java.class.path"),
                "io.signalbox.server.SignalboxMain",
                "--insecure-plaintext",
                "--grpc-address",
                "127.0.0.1",
                "--grpc-port",
                Integer.toString(grpcPort),
                "--config",
                settings.toString(),
                "--admin-port",
                "0",
                "--metrics-port",
                "0",
                "--data-dir",
                dataDirectory.toString())
            .redirectErrorStream(true)
            .redirectOutput(log.toFile())
            .start();
    try {
      await()
          .atMost(Duration.ofSeconds(30))
          .pollInterval(Duration.ofMillis(100))
          .until(
              () -> {
                if (!process.isAlive()) {
                  throw new IllegalStateException(
                      "the control plane exited: " + java.nio.file.Files.readString(log));
                }
                try (java.net.Socket socket = new java.net.Socket("127.0.0.1", grpcPort)) {
                  return true;
                } catch (java.io.IOException notYet) {
                  return false;
                }
              });
    } catch (RuntimeException e) {
      process.destroyForcibly();
      throw e;
    }
    return process;
  }

  /**
   * Envoy's versions once it has applied the last snapshot (EDS included): when they stop moving.
   */
  private static Map<String, String> settledVersions(EnvoyProcess envoy) throws Exception {
    await()
        .atMost(Duration.ofSeconds(15))
        .pollDelay(Duration.ofMillis(500))
        .until(
            () -> {
              String first = envoy.configDump();
              Thread.sleep(300);
              return versions(first).equals(versions(envoy.configDump()));
            });
    return versions(envoy.configDump());
  }

  /** Envoy stats that count accepted CDS and LDS responses. */
  private static Map<String, Long> resent(EnvoyProcess envoy) {
    Map<String, Long> updates = new TreeMap<>();
    for (String stat :
        List.of("cluster_manager.cds.update_success", "listener_manager.lds.update_success")) {
      updates.put(stat, envoy.statValue(stat));
    }
    return updates;
  }

  private void register(String service, String instanceId, int port) {
    ManagedChannel channel =
        NettyChannelBuilder.forAddress("127.0.0.1", grpcPort).usePlaintext().build();
    try {
      RegistryGrpc.newBlockingStub(channel)
          .withDeadlineAfter(10, TimeUnit.SECONDS)
          .register(
              RegisterRequest.newBuilder()
                  .setService(service)
                  .setInstance(
                      Instance.newBuilder().setId(instanceId).setHost("127.0.0.1").setPort(port))
                  .addRoutes(
                      Route.newBuilder().setPath(PathMatch.newBuilder().setPrefix("/" + service)))
                  .setLeaseTtl(
                      com.google.protobuf.Duration.newBuilder().setSeconds(LEASE_TTL_SECONDS))
                  .build());
    } finally {
      channel.shutdownNow();
    }
  }

  /**
   * Envoy's version_info for clusters and listeners, and for each listener, route configuration and
   * cluster. Over delta the type-level ones are the responses' system versions and each resource
   * carries its own. Endpoint assignments are left out: Envoy 1.40 dumps them with an empty
   * version_info.
   */
  private static Map<String, String> versions(String configDump) throws Exception {
    Map<String, String> versions = new TreeMap<>();
    for (JsonNode config : JSON.readTree(configDump).path("configs")) {
      String type = config.path("@type").asText();
      if (type.endsWith("ClustersConfigDump")) {
        versions.put("clusters", config.path("version_info").asText());
        config
            .path("dynamic_active_clusters")
            .forEach(
                c ->
                    versions.put(
                        "cluster " + c.path("cluster").path("name").asText(),
                        c.path("version_info").asText()));
      } else if (type.endsWith("ListenersConfigDump")) {
        versions.put("listeners", config.path("version_info").asText());
        config
            .path("dynamic_listeners")
            .forEach(
                l ->
                    versions.put(
                        "listener " + l.path("name").asText(),
                        l.path("active_state").path("version_info").asText()));
      } else if (type.endsWith("RoutesConfigDump")) {
        config
            .path("dynamic_route_configs")
            .forEach(
                r ->
                    versions.put(
                        "route_config " + r.path("route_config").path("name").asText(),
                        r.path("version_info").asText()));
      }
    }
    return versions;
  }

  private static Map<String, Long> churn(EnvoyProcess envoy) {
    Map<String, Long> values = new TreeMap<>();
    CHURN_STATS.forEach(stat -> values.put(stat, envoy.statValue(stat)));
    return values;
  }
}
