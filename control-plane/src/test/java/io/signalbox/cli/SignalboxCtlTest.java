package io.signalbox.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.signalbox.config.GatewaySettings;
import io.signalbox.registry.v1.RegistryGrpc;
import io.signalbox.server.ControlPlane;
import io.signalbox.testing.FakeAdsClient;
import io.signalbox.testing.FreePorts;
import io.signalbox.testing.LoopbackUpstreams;
import io.signalbox.testing.SignalboxCtlRun;
import io.signalbox.testing.TestControlPlanes;
import io.signalbox.testing.TestRegistrations;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code signalboxctl} run in-process against a running control plane (a stand-in Envoy on ADS), as
 * an operator would: output, exit codes, and errors.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SignalboxCtlTest {

  private static final ObjectMapper JSON = new ObjectMapper();

  private ControlPlane controlPlane;
  private ManagedChannel registryChannel;
  private FakeAdsClient edge;

  @BeforeAll
  void start() {
    controlPlane =
        ControlPlane.start(
            TestControlPlanes.onLoopback()
                .adminPort(0)
                .gateway(
                    LoopbackUpstreams.allowedIn(
                        GatewaySettings.plaintext("127.0.0.1", FreePorts.allocate())))
                .build());
    registryChannel =
        NettyChannelBuilder.forAddress("127.0.0.1", controlPlane.grpcPort()).usePlaintext().build();
    edge =
        FakeAdsClient.sotw(controlPlane.grpcPort(), FakeAdsClient.node("edge-1", "edge"), Set.of());
    register("orders", "orders-1", 9101);
    register("orders", "orders-2", 9102);
    await()
        .atMost(Duration.ofSeconds(5))
        .until(
            () ->
                ctl("proxies").out().contains("SYNCED")
                    && ctl("snapshot", "edge").out().contains("svc-orders"));
  }

  @AfterAll
  void stop() {
    edge.close();
    registryChannel.shutdownNow();
    controlPlane.close();
  }

  private void register(String service, String instanceId, int port) {
    RegistryGrpc.newBlockingStub(registryChannel)
        .withDeadlineAfter(5, TimeUnit.SECONDS)
        .register(TestRegistrations.request(service, instanceId, port));
  }

  /** Runs signalboxctl against this control plane. */
  private SignalboxCtlRun ctl(String... args) {
    return SignalboxCtlRun.against(controlPlane.adminPort(), args);
  }

  static SignalboxCtlRun run(String... args) {
    return SignalboxCtlRun.run(args);
  }

  @Nested
  class Reading {

    @Test
    void proxiesIsAnAlignedTableOfConnectedEnvoys() {
      SignalboxCtlRun run = ctl("proxies");

      assertThat(run.exitCode()).isZero();
      List<String> lines = run.out().lines().toList();
      assertThat(lines.get(0))
          .startsWith("NODE    GROUP  ROLE  ENVOY       XDS   STATUS  CONNECTED");
      assertThat(lines.get(1)).startsWith("edge-1  edge   edge  0.0.1-test  sotw  SYNCED");
      // Columns line up: every value starts where its header does.
      assertThat(lines.get(1).indexOf("SYNCED")).isEqualTo(lines.get(0).indexOf("STATUS"));
    }

    @Test
    void proxiesAsJsonIsTheAdminApisAnswer() throws Exception {
      SignalboxCtlRun run = ctl("proxies", "-o", "json");

      JsonNode answer = JSON.readTree(run.out());
      assertThat(answer.path("proxies").get(0).path("nodeId").asText()).isEqualTo("edge-1");
      assertThat(answer.path("proxies").get(0).path("status").asText()).isEqualTo("SYNCED");
      assertThat(answer.path("pushes").path("paused").asBoolean()).isFalse();
    }

    @Test
    void servicesListsEveryInstanceWithItsLeaseTimeLeft() {
      SignalboxCtlRun run = ctl("services");

      assertThat(run.exitCode()).isZero();
      assertThat(run.out())
          .containsPattern(
              "(?m)^SERVICE +STATUS +INSTANCE +ADDRESS +ZONE +WEIGHT +STATE +LEASE LEFT");
      assertThat(run.out())
          .containsPattern(
              "(?m)^orders +ACTIVE +orders-1 +127\\.0\\.0\\.1:9101 +- +1 +SERVING +\\d");
      assertThat(run.out()).contains("orders-2");
    }

    @Test
    void routesShowTheirOwnerDestinationAndPolicies() {
      SignalboxCtlRun run = ctl("routes");

      assertThat(run.out())
          .containsPattern(
              "(?m)^OWNER +MATCH +HOSTS +ACTION +DESTINATION +AUTH +RATE LIMIT +ENFORCED BY$");
      assertThat(run.out())
          .containsPattern("(?m)^orders +prefix /orders +\\* +forward +orders +none +none +edge$");
    }

    @Test
    void snapshotAsJsonHoldsTheResourcesThemselves() throws Exception {
      SignalboxCtlRun run = ctl("snapshot", "edge", "-o", "json");

      assertThat(run.exitCode()).isZero();
      JsonNode snapshot = JSON.readTree(run.out());
      assertThat(snapshot.path("group").asText()).isEqualTo("edge");
      JsonNode cluster = null;
      for (JsonNode resource : snapshot.path("resources")) {
        if (resource.path("name").asText().equals("svc-orders")
            && resource.path("type").asText().equals("clusters")) {
          cluster = resource;
        }
      }
      assertThat(cluster).isNotNull();
      assertThat(cluster.path("resource").path("name").asText()).isEqualTo("svc-orders");
      assertThat(cluster.path("resource").path("type").asText()).isEqualTo("EDS");
    }

    @Test
    void snapshotOfANodeFilteredByTypeAsYaml() throws Exception {
      SignalboxCtlRun run =
          ctl("snapshot", "edge-1", "--type", "endpoints", "--name", "svc-orders", "-o", "yaml");

      JsonNode snapshot = new YAMLMapper().readTree(run.out());
      assertThat(snapshot.path("resources")).hasSize(1);
      assertThat(run.out()).contains("portValue: 9101").contains("portValue: 9102");
    }

    @Test
    void historyNamesTheRegisteringService() {
      SignalboxCtlRun run = ctl("history");

      assertThat(run.exitCode()).isZero();
      assertThat(run.out()).containsPattern("(?m)^VERSION +PUBLISHED +CAUSE +CHANGES");
      assertThat(run.out())
          .containsPattern(
              "orders added \\(register by a plaintext caller\\) +clusters \\+1, endpoints \\+1, routes ~1");
      assertThat(run.out()).containsPattern("(?m) start +listeners \\+1, routes \\+1$");
    }

    @Test
    void diffShowsWhatChangedBetweenTwoVersions() throws Exception {
      JsonNode entries = JSON.readTree(ctl("history", "-o", "json").out()).path("entries");
      String newest = entries.get(0).path("version").asText();
      String oldest = entries.get(entries.size() - 1).path("version").asText();

      SignalboxCtlRun run = ctl("diff", oldest, newest, "--group", "edge");

      assertThat(run.exitCode()).isZero();
      assertThat(run.out())
          .startsWith(oldest + " -> " + newest + "\nclusters:\n")
          .contains("\n  + svc-orders\n");
    }
  }

  @Nested
  class Acting {

    @Test
    void drainAndUndrainAnInstance() {
      register("billing", "billing-1", 9111);

      SignalboxCtlRun drained = ctl("drain", "billing", "billing-1");

      assertThat(drained.exitCode()).isZero();
      assertThat(drained.out()).isEqualTo("drained billing/billing-1\n");
      assertThat(ctl("services").out()).containsPattern("billing-1 .* DRAINED");
      assertThat(ctl("undrain", "billing", "billing-1").exitCode()).isZero();
      assertThat(ctl("services").out()).containsPattern("billing-1 .* SERVING");
    }

    @Test
    void evictAService() {
      register("audit", "audit-1", 9121);
      register("audit", "audit-2", 9122);

      SignalboxCtlRun run = ctl("evict", "audit");

      assertThat(run.exitCode()).isZero();
      assertThat(run.out()).isEqualTo("evicted audit: audit-1, audit-2\n");
      assertThat(ctl("services").out()).doesNotContain("audit");
    }

    @Test
    void pauseAndResume() {
      SignalboxCtlRun paused = ctl("pause");
      try {
        assertThat(paused.exitCode()).isZero();
        assertThat(paused.out()).startsWith("pushes PAUSED since");
        assertThat(ctl("proxies").out()).startsWith("pushes PAUSED since");
      } finally {
        SignalboxCtlRun resumed = ctl("resume");
        assertThat(resumed.out()).startsWith("pushes running; Envoys are sent ");
      }
    }
  }

  @Nested
  class Failing {

    @Test
    void anUnknownServiceIsAServerErrorNamingIt() {
      SignalboxCtlRun run = ctl("drain", "ghost", "g1");

      assertThat(run.exitCode()).isEqualTo(SignalboxCtl.EXIT_SERVER_ERROR);
      assertThat(run.err())
          .isEqualTo("signalboxctl: NOT_FOUND: service 'ghost' is not registered\n");
    }

    @Test
    void anUnknownSnapshotTargetIsNamed() {
      SignalboxCtlRun run = ctl("snapshot", "nowhere");

      assertThat(run.exitCode()).isEqualTo(SignalboxCtl.EXIT_SERVER_ERROR);
      assertThat(run.err()).contains("'nowhere' is neither a connected node nor a known group");
    }

    @Test
    void anUnreachableControlPlaneIsExitCode3WithAClearMessage() {
      int closedPort = FreePorts.allocate();

      SignalboxCtlRun run = run("--admin", "127.0.0.1:" + closedPort, "proxies");

      assertThat(run.exitCode()).isEqualTo(SignalboxCtl.EXIT_UNREACHABLE);
      assertThat(run.err())
          .startsWith(
              "signalboxctl: cannot reach the Signalbox admin API at 127.0.0.1:" + closedPort)
          .contains("Is the control plane running");
      assertThat(run.out()).isEmpty();
    }

    @Test
    void aWrongCommandLineIsExitCode2() {
      assertThat(run("proxies", "--no-such-option").exitCode()).isEqualTo(SignalboxCtl.EXIT_USAGE);
      assertThat(run("drain", "only-a-service").exitCode()).isEqualTo(SignalboxCtl.EXIT_USAGE);
      assertThat(run("--admin", "no-port", "proxies").err()).contains("'no-port' is not HOST:PORT");
      assertThat(run("snapshot", "edge", "-o", "xml").exitCode())
          .isEqualTo(SignalboxCtl.EXIT_USAGE);
      assertThat(run().exitCode()).isEqualTo(SignalboxCtl.EXIT_USAGE);
    }

    @ParameterizedTest
    @ValueSource(
        strings = {
          "proxies",
          "snapshot",
          "services",
          "routes",
          "history",
          "diff",
          "drain",
          "undrain",
          "evict",
          "release",
          "pause",
          "resume"
        })
    void everyCommandHasHelp(String command) {
      SignalboxCtlRun run = run(command, "--help");

      assertThat(run.exitCode()).isZero();
      assertThat(run.out())
          .startsWith("Usage: signalboxctl " + command)
          .contains("--admin=HOST:PORT");
    }
  }
}
