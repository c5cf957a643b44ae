package io.signalbox.metrics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.envoyproxy.envoy.extensions.common.ratelimit.v3.RateLimitDescriptor;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitRequest;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitResponse.Code;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitServiceGrpc;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.signalbox.config.GatewaySettings;
import io.signalbox.registry.v1.Instance;
import io.signalbox.registry.v1.PathMatch;
import io.signalbox.registry.v1.RegisterRequest;
import io.signalbox.registry.v1.RegistryGrpc;
import io.signalbox.registry.v1.Route;
import io.signalbox.server.ControlPlane;
import io.signalbox.server.ControlPlaneConfig;
import io.signalbox.testing.FakeAdsClient;
import io.signalbox.testing.FreePorts;
import io.signalbox.testing.HttpProbe;
import io.signalbox.testing.LoopbackUpstreams;
import io.signalbox.testing.MetricsScrape;
import io.signalbox.testing.TestControlPlanes;
import io.signalbox.translate.XdsNames;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code /metrics} of a running control plane, driven through its real APIs (registry, ADS with
 * stand-in Envoys, rate-limit service, settings file): every meter appears, with the values the
 * events imply.
 */
class MetricsEndpointTest {

  private static final Duration PATIENCE = Duration.ofSeconds(5);
  private static final List<String> TYPES =
      List.of("clusters", "endpoints", "listeners", "routes", "secrets");

  @TempDir Path dir;

  private final List<AutoCloseable> toClose = new ArrayList<>();
  private ControlPlane controlPlane;
  private ManagedChannel channel;

  @AfterEach
  void stop() throws Exception {
    for (int i = toClose.size() - 1; i >= 0; i--) {
      toClose.get(i).close();
    }
  }

  private void start(Consumer<ControlPlaneConfig.Builder> customizer) {
    ControlPlaneConfig.Builder config =
        TestControlPlanes.onLoopback()
            .gateway(LoopbackUpstreams.allowedIn(GatewaySettings.DEFAULT));
    customizer.accept(config);
    controlPlane = ControlPlane.start(config.build());
    toClose.add(controlPlane);
    channel =
        NettyChannelBuilder.forAddress("127.0.0.1", controlPlane.grpcPort()).usePlaintext().build();
    toClose.add(channel::shutdownNow);
  }

  private void start() {
    start(config -> {});
  }

  private MetricsScrape scrape() {
    return MetricsScrape.of("http://127.0.0.1:" + controlPlane.metricsPort() + "/metrics");
  }

  private FakeAdsClient connect(FakeAdsClient client) {
    toClose.add(client);
    return client;
  }

  private RegistryGrpc.RegistryBlockingStub registry() {
    return RegistryGrpc.newBlockingStub(channel).withDeadlineAfter(5, TimeUnit.SECONDS);
  }

  private static RegisterRequest registration(String service, String instance, String prefix) {
    return RegisterRequest.newBuilder()
        .setService(service)
        .setInstance(Instance.newBuilder().setId(instance).setHost("127.0.0.1").setPort(9))
        .addRoutes(Route.newBuilder().setPath(PathMatch.newBuilder().setPrefix(prefix)))
        .build();
  }

  @Test
  void registerCallsAreCountedByOutcomeAndTheRegistrySizeIsAGauge() {
    start();
    MetricsScrape before = scrape();
    assertThat(before.require("signalbox_registrations_total", "outcome", "ok")).isZero();
    assertThat(before.require("signalbox_registry_services")).isZero();

    registry().register(registration("orders", "orders-1", "/orders"));
    registry().register(registration("orders", "orders-2", "/orders"));
    registry().register(registration("users", "users-1", "/users"));
    assertThatThrownBy(() -> registry().register(registration("Not_A_Name", "x", "/x")))
        .isInstanceOf(StatusRuntimeException.class)
        .hasMessageContaining("INVALID_ARGUMENT");
    assertThatThrownBy(() -> registry().register(registration("thief", "thief-1", "/orders")))
        .isInstanceOf(StatusRuntimeException.class)
        .hasMessageContaining("ALREADY_EXISTS");

    MetricsScrape after = scrape();
    assertThat(after.require("signalbox_registrations_total", "outcome", "ok")).isEqualTo(3);
    assertThat(after.require("signalbox_registrations_total", "outcome", "invalid_argument"))
        .isEqualTo(1);
    assertThat(after.require("signalbox_registrations_total", "outcome", "already_exists"))
        .isEqualTo(1);
    assertThat(after.require("signalbox_registry_services")).isEqualTo(2);
    assertThat(after.require("signalbox_registry_instances")).isEqualTo(3);
  }

  @Test
  void leasesThatRunOutAreCountedAndLeaveTheRegistry() {
    start(config -> config.leaseReapInterval(Duration.ofMillis(50)));
    registry()
        .register(
            registration("shortlived", "s-1", "/s").toBuilder()
                .setLeaseTtl(com.google.protobuf.Duration.newBuilder().setSeconds(1))
                .build());
    assertThat(scrape().require("signalbox_registry_instances")).isEqualTo(1);

    await().atMost(PATIENCE).until(() -> scrape().require("signalbox_leases_expired_total") == 1);
    assertThat(scrape().require("signalbox_registry_instances")).isZero();
  }

  @Test
  void everyTranslationIsCountedAndTimedAndNewVersionsArePublished() {
    start();
    await()
        .atMost(PATIENCE)
        .until(() -> scrape().require("signalbox_snapshots_published_total") == 1);
    RegisterRequest catalog = registration("catalog", "catalog-1", "/catalog");
    registry().register(catalog);
    await()
        .atMost(PATIENCE)
        .until(() -> scrape().require("signalbox_snapshots_published_total") == 2);
    // Instance metadata is not sent to Envoy: the registry changes, the translation does not.
    registry()
        .register(
            catalog.toBuilder()
                .setInstance(catalog.getInstance().toBuilder().putMetadata("build", "2"))
                .build());

    await()
        .atMost(PATIENCE)
        .untilAsserted(
            () -> {
              MetricsScrape metrics = scrape();
              assertThat(metrics.require("signalbox_snapshot_builds_total", "result", "new"))
                  .isEqualTo(2);
              assertThat(metrics.require("signalbox_snapshot_builds_total", "result", "unchanged"))
                  .isEqualTo(1);
              assertThat(metrics.require("signalbox_snapshot_builds_total", "result", "incomplete"))
                  .isZero();
              assertThat(metrics.require("signalbox_snapshot_build_duration_seconds_count"))
                  .isEqualTo(3);
              assertThat(
                      metrics.require(
                          "signalbox_snapshot_build_duration_seconds_bucket", "le", "+Inf"))
                  .isEqualTo(3);
              assertThat(metrics.require("signalbox_snapshot_build_duration_seconds_sum"))
                  .isPositive();
              assertThat(metrics.require("signalbox_snapshots_published_total")).isEqualTo(2);
            });
  }

  @Test
  void pushesAcksAndNacksAreCountedPerTypeWithTheLatencyOfEachAck() {
    start();
    connect(
        FakeAdsClient.sotw(
            controlPlane.grpcPort(), FakeAdsClient.node("edge-1", "edge"), Set.of()));
    connect(FakeAdsClient.delta(controlPlane.grpcPort(), FakeAdsClient.node("edge-2", "edge")));
    connect(
        FakeAdsClient.sotw(
            controlPlane.grpcPort(),
            FakeAdsClient.node("canary-1", "canary"),
            Set.of(FakeAdsClient.LISTENERS)));

    // Each stand-in subscribes to clusters and listeners: three streams get one response of each.
    // The two that
    // accept answer with ACKs; the canary rejects its listeners.
    await()
        .atMost(PATIENCE)
        .untilAsserted(
            () -> {
              MetricsScrape metrics = scrape();
              assertThat(metrics.require("signalbox_xds_pushes_total", "type", "clusters"))
                  .isEqualTo(3);
              assertThat(metrics.require("signalbox_xds_pushes_total", "type", "listeners"))
                  .isEqualTo(3);
              assertThat(
                      metrics.require(
                          "signalbox_xds_ack_latency_seconds_count", "type", "clusters"))
                  .isEqualTo(3);
              assertThat(
                      metrics.require(
                          "signalbox_xds_ack_latency_seconds_count", "type", "listeners"))
                  .isEqualTo(2);
              assertThat(metrics.require("signalbox_xds_nacks_total", "type", "listeners"))
                  .isEqualTo(1);
            });
    MetricsScrape metrics = scrape();
    assertThat(metrics.require("signalbox_xds_nacks_total", "type", "clusters")).isZero();
    for (String type : List.of("endpoints", "routes", "secrets")) {
      assertThat(metrics.require("signalbox_xds_pushes_total", "type", type)).as(type).isZero();
      assertThat(metrics.require("signalbox_xds_ack_latency_seconds_count", "type", type))
          .as(type)
          .isZero();
    }
    // Loopback answers take well under the 5 s bucket; the buckets are cumulative.
    assertThat(
            metrics.require(
                "signalbox_xds_ack_latency_seconds_bucket", "type", "clusters", "le", "5.0"))
        .isEqualTo(3);
    assertThat(metrics.require("signalbox_xds_ack_latency_seconds_sum", "type", "clusters"))
        .isPositive()
        .isLessThan(15);
    assertThat(metrics.require("signalbox_xds_ack_latency_seconds_max", "type", "clusters"))
        .isPositive();
  }

  @Test
  void connectedProxiesAreCountedPerGroupWhileTheirStreamsAreOpen() {
    start();
    FakeAdsClient first =
        connect(
            FakeAdsClient.sotw(
                controlPlane.grpcPort(), FakeAdsClient.node("edge-1", "edge"), Set.of()));
    connect(FakeAdsClient.delta(controlPlane.grpcPort(), FakeAdsClient.node("edge-2", "edge")));
    FakeAdsClient canary =
        connect(
            FakeAdsClient.sotw(
                controlPlane.grpcPort(), FakeAdsClient.node("canary-1", "canary"), Set.of()));
    await()
        .atMost(PATIENCE)
        .untilAsserted(
            () -> {
              MetricsScrape metrics = scrape();
              assertThat(metrics.require("signalbox_xds_connected_proxies", "group", "edge"))
                  .isEqualTo(2);
              assertThat(metrics.require("signalbox_xds_connected_proxies", "group", "canary"))
                  .isEqualTo(1);
            });
    MetricsScrape connected = scrape();
    assertThat(connected.require("signalbox_xds_lagging_streams", "group", "canary"))
        .as("at zero from the group's first Envoy")
        .isZero();
    assertThat(connected.require("signalbox_xds_streams_cut_off_total", "group", "canary"))
        .isZero();

    first.close();
    await()
        .atMost(PATIENCE)
        .until(() -> scrape().require("signalbox_xds_connected_proxies", "group", "edge") == 1);
    assertThat(scrape().require("signalbox_xds_connected_proxies", "group", "canary")).isEqualTo(1);

    // The canary's last Envoy leaves: its group is forgotten at the next publication, and its
    // series with it (groups come and go with services and zones).
    canary.close();
    registry().register(registration("orders", "orders-1", "/orders"));
    await()
        .atMost(PATIENCE)
        .untilAsserted(
            () -> {
              MetricsScrape metrics = scrape();
              for (String series :
                  List.of(
                      "signalbox_xds_connected_proxies",
                      "signalbox_xds_lagging_streams",
                      "signalbox_xds_streams_cut_off_total")) {
                assertThat(metrics.value(series, "group", "canary")).as(series).isEmpty();
              }
            });
    assertThat(scrape().require("signalbox_xds_connected_proxies", "group", "edge")).isEqualTo(1);
  }

  @Test
  void aScopedSidecarGroupIsForgottenOnceItsLastEnvoyLeavesThoughTheNextChangeDoesNotReachIt() {
    start();
    registry().register(registration("users", "users-1", "/users"));
    registry()
        .register(
            registration("orders", "orders-1", "/orders").toBuilder()
                .setInstance(
                    Instance.newBuilder()
                        .setId("orders-1")
                        .setHost("127.0.0.1")
                        .setPort(15006)
                        .setApplicationPort(8080))
                .addCalls("users")
                .build());
    FakeAdsClient sidecar =
        connect(
            FakeAdsClient.delta(
                controlPlane.grpcPort(),
                FakeAdsClient.node("orders-1", "ignored").toBuilder()
                    .setMetadata(
                        com.google.protobuf.Struct.newBuilder()
                            .putFields(
                                "signalbox.role",
                                com.google.protobuf.Value.newBuilder()
                                    .setStringValue("sidecar")
                                    .build())
                            .putFields(
                                "signalbox.service",
                                com.google.protobuf.Value.newBuilder()
                                    .setStringValue("orders")
                                    .build()))
                    .build()));
    await().atMost(PATIENCE).until(() -> ordersSidecars().isPresent());

    sidecar.close();
    // Its stream has closed (a publication under way may even have forgotten the group already).
    await().atMost(PATIENCE).until(() -> ordersSidecars().orElse(0) == 0);
    // orders calls users only: catalog's registration does not reach its sidecars' group.
    registry().register(registration("catalog", "catalog-1", "/catalog"));

    await().atMost(PATIENCE).untilAsserted(() -> assertThat(ordersSidecars()).isEmpty());
  }

  /** The connected Envoys of node group sidecar/orders; empty once the group is forgotten. */
  private java.util.OptionalDouble ordersSidecars() {
    return scrape().value("signalbox_xds_connected_proxies", "group", "sidecar/orders");
  }

  @Test
  void publishingHeldByAPolicyHandoverIsExportedAsZeroWhileNothingHoldsIt() {
    // It becomes 1 when a handover stops: PolicyHandoverPublicationTest.
    start();
    assertThat(scrape().require("signalbox_policy_handover_held")).isZero();
  }

  @Test
  void pausedPushesShowAsOneUntilResumed() {
    start();
    assertThat(scrape().require("signalbox_pushes_paused")).isZero();
    controlPlane.publisher().pause();
    assertThat(scrape().require("signalbox_pushes_paused")).isEqualTo(1);
    controlPlane.publisher().resume();
    assertThat(scrape().require("signalbox_pushes_paused")).isZero();
  }

  @Test
  void settingsReloadsAreCountedAsAcceptedOrRejected() throws IOException {
    Path settings = dir.resolve("gateway.yaml");
    Files.writeString(settings, "listeners: [{name: http, port: " + FreePorts.allocate() + "}]\n");
    start(config -> config.settingsFile(settings).settingsPollInterval(Duration.ofMillis(50)));
    assertThat(scrape().require("signalbox_settings_reloads_total", "result", "ok")).isZero();

    Files.writeString(settings, "listeners: [{name: http, port: " + FreePorts.allocate() + "}]\n");
    await()
        .atMost(PATIENCE)
        .until(() -> scrape().require("signalbox_settings_reloads_total", "result", "ok") == 1);
    Files.writeString(settings, "listeners: [{name: http, port: 123456}]\n");
    await()
        .atMost(PATIENCE)
        .until(
            () -> scrape().require("signalbox_settings_reloads_total", "result", "rejected") == 1);
    assertThat(scrape().require("signalbox_settings_reloads_total", "result", "ok")).isEqualTo(1);
  }

  @Test
  void rateLimitDecisionsAreCountedByTheirOverallCode() {
    start();
    RateLimitDescriptor descriptor =
        RateLimitDescriptor.newBuilder()
            .addEntries(
                RateLimitDescriptor.Entry.newBuilder()
                    .setKey(XdsNames.RATE_LIMIT_ROUTE_KEY)
                    .setValue("r"))
            .addEntries(
                RateLimitDescriptor.Entry.newBuilder()
                    .setKey(XdsNames.RATE_LIMIT_LIMIT_KEY)
                    .setValue("2/HOUR"))
            .build();
    RateLimitRequest request =
        RateLimitRequest.newBuilder()
            .setDomain(XdsNames.RATE_LIMIT_DOMAIN)
            .addDescriptors(descriptor)
            .build();
    List<Code> codes = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      codes.add(
          RateLimitServiceGrpc.newBlockingStub(channel)
              .withDeadlineAfter(5, TimeUnit.SECONDS)
              .shouldRateLimit(request)
              .getOverallCode());
    }
    assertThat(codes).containsExactly(Code.OK, Code.OK, Code.OVER_LIMIT);

    MetricsScrape metrics = scrape();
    assertThat(metrics.require("signalbox_ratelimit_decisions_total", "decision", "ok"))
        .isEqualTo(2);
    assertThat(metrics.require("signalbox_ratelimit_decisions_total", "decision", "over_limit"))
        .isEqualTo(1);
  }

  @Test
  void theEndpointServesThePrometheusTextFormatWithTheJvmsMetersAndNothingElse() throws Exception {
    start();
    String base = "http://127.0.0.1:" + controlPlane.metricsPort();
    HttpProbe.Response response = HttpProbe.get(base + "/metrics");
    assertThat(response.status()).isEqualTo(200);
    assertThat(response.headers().firstValue("content-type"))
        .hasValue("text/plain; version=0.0.4; charset=utf-8");
    assertThat(response.body())
        .contains(
            "# TYPE signalbox_registrations_total counter",
            "# TYPE signalbox_xds_ack_latency_seconds histogram");
    assertThat(MetricsScrape.parse(response.body()).names())
        .contains(
            "jvm_memory_used_bytes",
            "jvm_threads_live_threads",
            "process_cpu_usage",
            "process_uptime_seconds",
            "jvm_classes_loaded_classes");

    assertThat(HttpProbe.get(base + "/").status()).isEqualTo(404);
    assertThat(HttpProbe.get(base + "/metricsx").status()).isEqualTo(404);
    HttpResponse<String> post =
        HttpClient.newHttpClient()
            .send(
                HttpRequest.newBuilder(URI.create(base + "/metrics"))
                    .POST(HttpRequest.BodyPublishers.noBody())
                    .build(),
                HttpResponse.BodyHandlers.ofString());
    assertThat(post.statusCode()).isEqualTo(405);
  }

  @Test
  void theMetricsPortFollowsTheGrpcPortUnlessSet() {
    assertThat(
            ControlPlaneConfig.builder()
                .transport(io.signalbox.security.TransportSecurity.plaintext())
                .grpcPort(18000)
                .build()
                .metricsPort())
        .isEqualTo(18002);
    assertThat(
            ControlPlaneConfig.builder()
                .transport(io.signalbox.security.TransportSecurity.plaintext())
                .grpcPort(0)
                .build()
                .metricsPort())
        .isZero();
    assertThat(
            ControlPlaneConfig.builder()
                .transport(io.signalbox.security.TransportSecurity.plaintext())
                .grpcPort(18000)
                .metricsPort(9464)
                .build()
                .metricsPort())
        .isEqualTo(9464);
    assertThat(
            ControlPlaneConfig.builder()
                .transport(io.signalbox.security.TransportSecurity.plaintext())
                .build()
                .metricsAddress())
        .isEqualTo("127.0.0.1");
  }

  @Test
  void aTakenMetricsPortStopsTheStartNamingThePort() throws IOException {
    try (java.net.ServerSocket taken =
        new java.net.ServerSocket(0, 50, java.net.InetAddress.getByName("127.0.0.1"))) {
      assertThatThrownBy(() -> start(config -> config.metricsPort(taken.getLocalPort())))
          .hasMessageContaining("127.0.0.1:" + taken.getLocalPort() + " (metrics)");
    }
  }

  /**
   * The dashboard under deploy/grafana is valid JSON, takes its data source from a variable, and
   * queries only metrics this endpoint serves.
   */
  @Test
  void theGrafanaDashboardQueriesOnlyMetricsTheEndpointServes() throws IOException {
    start();
    connect(
        FakeAdsClient.sotw(
            controlPlane.grpcPort(), FakeAdsClient.node("edge-1", "edge"), Set.of()));
    registry().register(registration("orders", "orders-1", "/orders"));
    await()
        .atMost(PATIENCE)
        .until(
            () ->
                scrape().value("signalbox_xds_connected_proxies", "group", "edge").orElse(0) == 1);
    Set<String> served = scrape().names();

    Path file =
        Path.of(System.getProperty("signalbox.repo.root", ".."))
            .resolve("deploy/grafana/signalbox-dashboard.json");
    JsonNode dashboard = new ObjectMapper().readTree(file.toFile());
    assertThat(dashboard.path("title").asText()).isNotEmpty();
    assertThat(dashboard.path("templating").path("list").findValuesAsText("type"))
        .contains("datasource");

    List<String> expressions = new ArrayList<>(dashboard.findValuesAsText("expr"));
    expressions.addAll(dashboard.findValuesAsText("definition"));
    assertThat(expressions).isNotEmpty();
    Set<String> queried = new TreeSet<>();
    Pattern metric = Pattern.compile("\\b((?:signalbox|jvm|process|system)_[a-zA-Z0-9_]+)");
    for (String expression : expressions) {
      Matcher matcher = metric.matcher(expression);
      while (matcher.find()) {
        queried.add(matcher.group(1));
      }
    }
    assertThat(queried).filteredOn(name -> name.startsWith("signalbox_")).hasSizeGreaterThan(10);
    assertThat(served).containsAll(queried);
    for (JsonNode source : dashboard.findValues("datasource")) {
      if (source.isObject() && source.has("uid")) {
        assertThat(source.path("uid").asText())
            .as("panels use the data source variable")
            .isEqualTo("${datasource}");
      }
    }
  }
}
