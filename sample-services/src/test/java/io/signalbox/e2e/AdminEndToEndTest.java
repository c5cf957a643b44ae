package io.signalbox.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.signalbox.admin.v1.AdminGrpc;
import io.signalbox.admin.v1.GetServiceRequest;
import io.signalbox.admin.v1.GetSnapshotRequest;
import io.signalbox.admin.v1.GetSnapshotResponse;
import io.signalbox.admin.v1.HistoryEntry;
import io.signalbox.admin.v1.HistoryRequest;
import io.signalbox.admin.v1.Instance;
import io.signalbox.admin.v1.ListProxiesRequest;
import io.signalbox.admin.v1.PausePushesRequest;
import io.signalbox.admin.v1.Proxy;
import io.signalbox.admin.v1.ResourceTypeStatus;
import io.signalbox.admin.v1.ResumePushesRequest;
import io.signalbox.admin.v1.ServiceChange;
import io.signalbox.admin.v1.SyncStatus;
import io.signalbox.cli.SignalboxCtl;
import io.signalbox.client.Routes;
import io.signalbox.samples.EchoService;
import io.signalbox.testing.EnvoyLogsOnFailure;
import io.signalbox.testing.EnvoyProcess;
import io.signalbox.testing.FreePorts;
import io.signalbox.testing.HttpProbe;
import io.signalbox.testing.SignalboxCtlRun;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Operators' view of a real Envoy through the admin API and {@code signalboxctl}: what it
 * acknowledged (checked against Envoy's own config dump), what it is sent, how it got there, and
 * drain and pause acting on real traffic. One control plane and one Envoy (state of the world) for
 * the class; each test uses services of its own.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@ExtendWith(EnvoyLogsOnFailure.class)
class AdminEndToEndTest {

  private static final Duration REACHES_ENVOY = Duration.ofSeconds(10);
  private static final ObjectMapper JSON = new ObjectMapper();

  private GatewayFixture gateway;
  private ManagedChannel adminChannel;

  @BeforeAll
  void start() {
    gateway = GatewayFixture.start(EnvoyProcess.XdsMode.SOTW);
    adminChannel =
        NettyChannelBuilder.forAddress("127.0.0.1", gateway.controlPlane().adminPort())
            .usePlaintext()
            .build();
  }

  @AfterAll
  void stop() {
    if (adminChannel != null) {
      adminChannel.shutdownNow();
    }
    if (gateway != null) {
      gateway.close();
    }
  }

  private AdminGrpc.AdminBlockingStub admin() {
    return AdminGrpc.newBlockingStub(adminChannel).withDeadlineAfter(5, TimeUnit.SECONDS);
  }

  private Proxy edgeProxy() {
    List<Proxy> proxies =
        admin().listProxies(ListProxiesRequest.getDefaultInstance()).getProxiesList();
    assertThat(proxies).extracting(Proxy::getNodeId).containsExactly("edge-1");
    return proxies.get(0);
  }

  private static String acked(Proxy proxy, String type) {
    return proxy.getTypesList().stream()
        .filter(t -> t.getType().equals(type))
        .findFirst()
        .map(ResourceTypeStatus::getVersionAcked)
        .orElse("");
  }

  /**
   * The versions Envoy itself says it accepted: CDS and LDS overall, and the shared route
   * configuration.
   */
  private Map<String, String> envoyVersions() throws Exception {
    String clusters = "";
    String listeners = "";
    String routes = "";
    for (JsonNode config : JSON.readTree(gateway.envoy().configDump()).path("configs")) {
      String type = config.path("@type").asText();
      if (type.endsWith("ClustersConfigDump")) {
        clusters = config.path("version_info").asText();
      } else if (type.endsWith("ListenersConfigDump")) {
        listeners = config.path("version_info").asText();
      } else if (type.endsWith("RoutesConfigDump")) {
        for (JsonNode route : config.path("dynamic_route_configs")) {
          if (route.path("route_config").path("name").asText().equals("gateway-routes")) {
            routes = route.path("version_info").asText();
          }
        }
      }
    }
    return Map.of("clusters", clusters, "listeners", listeners, "routes", routes);
  }

  private static String servedBy(String url) {
    HttpProbe.Response response = HttpProbe.get(url);
    assertThat(response.status()).isEqualTo(200);
    return response.headers().firstValue(EchoService.INSTANCE_HEADER).orElseThrow();
  }

  @Test
  void listProxiesShowsEnvoySyncedAtTheVersionsItsConfigDumpReports() throws Exception {
    gateway.serve("catalog", "catalog-1", Routes.prefix("/catalog"));
    HttpProbe.awaitStatus(gateway.url("/catalog"), 200, REACHES_ENVOY);

    await()
        .atMost(REACHES_ENVOY)
        .untilAsserted(
            () -> {
              Proxy proxy = edgeProxy();
              assertThat(proxy.getStatus()).isEqualTo(SyncStatus.SYNCED);
              Map<String, String> envoy = envoyVersions();
              assertThat(envoy.values()).allSatisfy(version -> assertThat(version).isNotEmpty());
              for (String type : List.of("clusters", "listeners", "routes")) {
                assertThat(acked(proxy, type)).as(type).isEqualTo(envoy.get(type));
              }
            });
    Proxy proxy = edgeProxy();
    assertThat(proxy.getGroup()).isEqualTo(GatewayFixture.GROUP);
    assertThat(proxy.getEnvoyVersion()).isEqualTo("1.40.0");
    assertThat(proxy.getUserAgent()).isEqualTo("envoy");
    assertThat(proxy.getTypesList())
        .extracting(ResourceTypeStatus::getType)
        .contains("clusters", "endpoints", "listeners", "routes");
    assertThat(proxy.getTypesList()).allSatisfy(type -> assertThat(type.hasLastNack()).isFalse());
  }

  @Test
  void getSnapshotHoldsWhatEnvoyRunsAndHistoryNamesTheRegistration() throws Exception {
    EchoService backend = gateway.backend("inventory", "inventory-1");
    gateway.register(
        io.signalbox.client.ServiceRegistration.builder("inventory")
            .instance("inventory-1", "127.0.0.1", backend.port())
            .route(Routes.prefix("/inventory"))
            .build());
    HttpProbe.awaitStatus(gateway.url("/inventory"), 200, REACHES_ENVOY);

    GetSnapshotResponse snapshot =
        admin()
            .getSnapshot(
                GetSnapshotRequest.newBuilder()
                    .setNodeId("edge-1")
                    .setType("endpoints")
                    .setName("svc-inventory")
                    .build());
    assertThat(snapshot.getGroup()).isEqualTo(GatewayFixture.GROUP);
    assertThat(snapshot.getResources(0).getJson()).contains("\"portValue\": " + backend.port());
    assertThat(gateway.envoy().configDump()).contains("\"port_value\": " + backend.port());

    Optional<HistoryEntry> entry =
        admin().history(HistoryRequest.getDefaultInstance()).getEntriesList().stream()
            .filter(
                e ->
                    e.getServicesList()
                        .contains(
                            ServiceChange.newBuilder()
                                .setService("inventory")
                                .setKind(ServiceChange.Kind.ADDED)
                                .setChangedBy("register by a plaintext caller")
                                .build()))
            .findFirst();
    assertThat(entry).as("a history entry caused by registering inventory").isPresent();
    assertThat(entry.get().getChangesList())
        .anySatisfy(
            changes -> {
              assertThat(changes.getType()).isEqualTo("clusters");
              assertThat(changes.getAddedList()).contains("svc-inventory");
            });
  }

  @Test
  void aDrainedInstanceStopsReceivingTrafficWhileTheOtherKeepsServing() {
    gateway.serve("orders", "orders-1", Routes.prefix("/orders"));
    gateway.serve("orders", "orders-2", Routes.prefix("/orders"));
    await()
        .atMost(REACHES_ENVOY)
        .until(
            () ->
                IntStream.range(0, 6)
                    .mapToObj(
                        i -> {
                          try {
                            return servedBy(gateway.url("/orders"));
                          } catch (RuntimeException | AssertionError e) {
                            return "none";
                          }
                        })
                    .distinct()
                    .sorted()
                    .toList()
                    .equals(List.of("orders-1", "orders-2")));

    SignalboxCtlRun drain = ctl("drain", "orders", "orders-1");
    assertThat(drain.exitCode()).as(drain.err()).isZero();

    // Once Envoy has the new assignment, every request goes to orders-2, and none fails.
    await()
        .atMost(REACHES_ENVOY)
        .until(() -> !gateway.envoy().configDump().contains("\"instance\": \"orders-1\""));
    List<String> servers = new ArrayList<>();
    IntStream.range(0, 20).forEach(i -> servers.add(servedBy(gateway.url("/orders"))));
    assertThat(servers).containsOnly("orders-2");
    assertThat(
            admin()
                .getService(GetServiceRequest.newBuilder().setService("orders").build())
                .getInstancesList())
        .extracting(Instance::getId, Instance::getState)
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple("orders-1", Instance.State.DRAINED),
            org.assertj.core.groups.Tuple.tuple("orders-2", Instance.State.SERVING));
  }

  @Test
  void aRegistrationWhilePushesArePausedReachesEnvoyOnlyOnResume() {
    String before =
        edgeProxy().getTypesList().stream()
            .filter(t -> t.getType().equals("clusters"))
            .findFirst()
            .orElseThrow()
            .getVersionAcked();
    assertThat(admin().pausePushes(PausePushesRequest.getDefaultInstance()).getPaused()).isTrue();
    try {
      gateway.serve("billing", "billing-1", Routes.prefix("/billing"));

      await()
          .during(Duration.ofSeconds(1))
          .atMost(Duration.ofSeconds(3))
          .until(() -> HttpProbe.get(gateway.url("/billing")).status() == 404);
      assertThat(acked(edgeProxy(), "clusters")).isEqualTo(before);
      assertThat(
              admin()
                  .listProxies(ListProxiesRequest.getDefaultInstance())
                  .getPushes()
                  .getChangesPending())
          .isTrue();
      assertThat(ctl("proxies").out()).startsWith("pushes PAUSED since");
    } finally {
      admin().resumePushes(ResumePushesRequest.getDefaultInstance());
    }
    HttpProbe.awaitStatus(gateway.url("/billing"), 200, REACHES_ENVOY);
  }

  @Test
  void signalboxctlShowsTheLiveControlPlane() throws Exception {
    gateway.serve("search", "search-1", Routes.prefix("/search"));
    HttpProbe.awaitStatus(gateway.url("/search"), 200, REACHES_ENVOY);

    await()
        .atMost(REACHES_ENVOY)
        .untilAsserted(
            () ->
                assertThat(ctl("proxies").out())
                    .containsPattern("(?m)^edge-1 +edge +edge +1\\.40\\.0 +sotw +SYNCED "));
    SignalboxCtlRun services = ctl("services");
    assertThat(services.out())
        .containsPattern("(?m)^search +ACTIVE +search-1 +127\\.0\\.0\\.1:\\d+ .* SERVING ");
    SignalboxCtlRun snapshot = ctl("snapshot", "edge", "-o", "json");
    assertThat(snapshot.exitCode()).isZero();
    JsonNode resources = JSON.readTree(snapshot.out()).path("resources");
    assertThat(resources.findValuesAsText("name")).contains("svc-search", "gateway-routes");

    SignalboxCtlRun unreachable =
        SignalboxCtlRun.run("--admin", "127.0.0.1:" + FreePorts.allocate(), "proxies");
    assertThat(unreachable.exitCode()).isEqualTo(SignalboxCtl.EXIT_UNREACHABLE);
    assertThat(unreachable.err()).contains("cannot reach the Signalbox admin API");
  }

  private SignalboxCtlRun ctl(String... args) {
    return SignalboxCtlRun.against(gateway.controlPlane().adminPort(), args);
  }
}
