package io.signalbox.admin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.util.Durations;
import io.envoyproxy.controlplane.cache.Resources.ResourceType;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.reflection.v1.ServerReflectionGrpc;
import io.grpc.reflection.v1.ServerReflectionRequest;
import io.grpc.reflection.v1.ServerReflectionResponse;
import io.grpc.stub.StreamObserver;
import io.signalbox.admin.v1.AdminGrpc;
import io.signalbox.admin.v1.DiffSnapshotsRequest;
import io.signalbox.admin.v1.DiffSnapshotsResponse;
import io.signalbox.admin.v1.DrainInstanceRequest;
import io.signalbox.admin.v1.EvictRequest;
import io.signalbox.admin.v1.GetPushStateRequest;
import io.signalbox.admin.v1.GetServiceRequest;
import io.signalbox.admin.v1.GetSnapshotRequest;
import io.signalbox.admin.v1.GetSnapshotResponse;
import io.signalbox.admin.v1.HistoryEntry;
import io.signalbox.admin.v1.HistoryRequest;
import io.signalbox.admin.v1.Instance;
import io.signalbox.admin.v1.ListProxiesRequest;
import io.signalbox.admin.v1.ListServicesRequest;
import io.signalbox.admin.v1.PausePushesRequest;
import io.signalbox.admin.v1.PolicySource;
import io.signalbox.admin.v1.Proxy;
import io.signalbox.admin.v1.PushState;
import io.signalbox.admin.v1.RegistrationStatus;
import io.signalbox.admin.v1.ResourceTypeStatus;
import io.signalbox.admin.v1.ResumePushesRequest;
import io.signalbox.admin.v1.Route;
import io.signalbox.admin.v1.Service;
import io.signalbox.admin.v1.ServiceChange;
import io.signalbox.admin.v1.SyncStatus;
import io.signalbox.admin.v1.UndrainInstanceRequest;
import io.signalbox.admin.v1.XdsMode;
import io.signalbox.config.GatewaySettings;
import io.signalbox.config.PolicyDefaults;
import io.signalbox.model.RateLimit;
import io.signalbox.registry.v1.PathMatch;
import io.signalbox.registry.v1.RateLimitPolicy;
import io.signalbox.registry.v1.RegisterRequest;
import io.signalbox.registry.v1.RegistryGrpc;
import io.signalbox.server.ControlPlane;
import io.signalbox.testing.FakeAdsClient;
import io.signalbox.testing.FreePorts;
import io.signalbox.testing.LoopbackUpstreams;
import io.signalbox.testing.TestControlPlanes;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The admin API against a running control plane, with stand-in Envoys on ADS streams. One control
 * plane for the class; each test uses services of its own.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class AdminApiTest {

  private static final Duration PATIENCE = Duration.ofSeconds(5);

  private ControlPlane controlPlane;
  private ManagedChannel adminChannel;
  private ManagedChannel registryChannel;
  private FakeAdsClient edge;

  @BeforeAll
  void start() {
    GatewaySettings settings =
        GatewaySettings.plaintext("127.0.0.1", FreePorts.allocate()).toBuilder()
            .defaults(
                new PolicyDefaults(
                    Optional.empty(),
                    Optional.of(RateLimit.local(100, RateLimit.Unit.SECOND)),
                    RateLimit.FailureMode.ALLOW))
            .upstreams(LoopbackUpstreams.ALLOWED)
            .build();
    controlPlane =
        ControlPlane.start(TestControlPlanes.onLoopback().adminPort(0).gateway(settings).build());
    adminChannel =
        NettyChannelBuilder.forAddress("127.0.0.1", controlPlane.adminPort())
            .usePlaintext()
            .build();
    registryChannel =
        NettyChannelBuilder.forAddress("127.0.0.1", controlPlane.grpcPort()).usePlaintext().build();
    edge =
        FakeAdsClient.sotw(controlPlane.grpcPort(), FakeAdsClient.node("edge-1", "edge"), Set.of());
    await()
        .atMost(PATIENCE)
        .until(() -> proxy("edge-1").map(p -> p.getStatus() == SyncStatus.SYNCED).orElse(false));
  }

  @AfterAll
  void stop() {
    edge.close();
    adminChannel.shutdownNow();
    registryChannel.shutdownNow();
    controlPlane.close();
  }

  private AdminGrpc.AdminBlockingStub admin() {
    return AdminGrpc.newBlockingStub(adminChannel).withDeadlineAfter(5, TimeUnit.SECONDS);
  }

  private void register(String service, String instanceId, int port, RateLimitPolicy limit) {
    RegisterRequest.Builder request =
        RegisterRequest.newBuilder()
            .setService(service)
            .setInstance(
                io.signalbox.registry.v1.Instance.newBuilder()
                    .setId(instanceId)
                    .setHost("127.0.0.1")
                    .setPort(port)
                    .setZone("zone-a"))
            .addRoutes(
                io.signalbox.registry.v1.Route.newBuilder()
                    .setPath(PathMatch.newBuilder().setPrefix("/" + service)));
    if (limit != null) {
      request.setRateLimit(limit);
    }
    RegistryGrpc.newBlockingStub(registryChannel)
        .withDeadlineAfter(5, TimeUnit.SECONDS)
        .register(request.build());
  }

  private void register(String service, String instanceId, int port) {
    register(service, instanceId, port, null);
  }

  private Optional<Proxy> proxy(String nodeId) {
    return admin().listProxies(ListProxiesRequest.getDefaultInstance()).getProxiesList().stream()
        .filter(p -> p.getNodeId().equals(nodeId))
        .findFirst();
  }

  private GetSnapshotResponse edgeSnapshot(String type) {
    return admin()
        .getSnapshot(GetSnapshotRequest.newBuilder().setGroup("edge").setType(type).build());
  }

  private String endpointsJson(String service) {
    return admin()
        .getSnapshot(
            GetSnapshotRequest.newBuilder()
                .setGroup("edge")
                .setType("endpoints")
                .setName("svc-" + service)
                .build())
        .getResources(0)
        .getJson();
  }

  private static void assertStatus(Runnable call, Status.Code code, String description) {
    assertThatThrownBy(call::run)
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> {
              assertThat(e.getStatus().getCode()).isEqualTo(code);
              assertThat(e.getStatus().getDescription()).contains(description);
            });
  }

  @Nested
  class Proxies {

    @Test
    void aConnectedEnvoyIsSyncedWithTheVersionsItAcknowledged() {
      register("proxies-a", "a1", 9001);
      String clusters =
          await()
              .atMost(PATIENCE)
              .until(
                  () -> controlPlane.publisher().current().version(ResourceType.CLUSTER),
                  version ->
                      proxy("edge-1")
                          .map(
                              p ->
                                  type(p, "clusters").getVersionAcked().equals(version)
                                      && p.getStatus() == SyncStatus.SYNCED)
                          .orElse(false));

      Proxy proxy = proxy("edge-1").orElseThrow();
      assertThat(proxy.getGroup()).isEqualTo("edge");
      assertThat(proxy.getXdsMode()).isEqualTo(XdsMode.SOTW);
      assertThat(proxy.getEnvoyVersion()).isEqualTo("0.0.1-test");
      assertThat(proxy.getUserAgent()).isEqualTo("fake-envoy");
      assertThat(proxy.hasConnectedSince()).isTrue();
      ResourceTypeStatus clusterStatus = type(proxy, "clusters");
      assertThat(clusterStatus.getVersionSent()).isEqualTo(clusters);
      assertThat(clusterStatus.getStatus()).isEqualTo(SyncStatus.SYNCED);
      assertThat(clusterStatus.getTypeUrl()).isEqualTo(FakeAdsClient.CLUSTERS);
      assertThat(type(proxy, "listeners").getVersionAcked())
          .isEqualTo(controlPlane.publisher().current().version(ResourceType.LISTENER));
    }

    @Test
    void anEnvoyThatRejectsAResponseIsNackedWithItsError() {
      try (FakeAdsClient nacking =
          FakeAdsClient.sotw(
              controlPlane.grpcPort(),
              FakeAdsClient.node("nacking-1", "canary"),
              Set.of(FakeAdsClient.LISTENERS))) {
        await()
            .atMost(PATIENCE)
            .until(
                () ->
                    proxy("nacking-1").map(p -> p.getStatus() == SyncStatus.NACKED).orElse(false));

        Proxy proxy = proxy("nacking-1").orElseThrow();
        ResourceTypeStatus listeners = type(proxy, "listeners");
        assertThat(listeners.getVersionAcked()).isEmpty();
        assertThat(listeners.getLastNack().getVersion()).isEqualTo(listeners.getVersionSent());
        assertThat(listeners.getLastNack().getErrorDetail())
            .isEqualTo("rejected by the test: " + FakeAdsClient.LISTENERS);
        assertThat(type(proxy, "clusters").getStatus()).isEqualTo(SyncStatus.SYNCED);
        assertThat(
                admin()
                    .listProxies(ListProxiesRequest.newBuilder().setGroup("canary").build())
                    .getProxiesList())
            .extracting(Proxy::getNodeId)
            .containsExactly("nacking-1");
      }
      await().atMost(PATIENCE).until(() -> proxy("nacking-1").isEmpty());
    }

    @Test
    void aDeltaStreamIsTrackedByNonce() {
      try (FakeAdsClient delta =
          FakeAdsClient.delta(controlPlane.grpcPort(), FakeAdsClient.node("delta-1", "edge"))) {
        await()
            .atMost(PATIENCE)
            .until(
                () ->
                    proxy("delta-1")
                        .map(p -> p.getStatus() == SyncStatus.SYNCED && p.getTypesCount() == 2)
                        .orElse(false));

        Proxy proxy = proxy("delta-1").orElseThrow();
        assertThat(proxy.getXdsMode()).isEqualTo(XdsMode.DELTA);
        assertThat(type(proxy, "clusters").getVersionAcked())
            .isEqualTo(type(proxy, "clusters").getVersionSent())
            .isNotEmpty();
      }
    }

    private ResourceTypeStatus type(Proxy proxy, String type) {
      return proxy.getTypesList().stream()
          .filter(t -> t.getType().equals(type))
          .findFirst()
          .orElseThrow();
    }
  }

  @Nested
  class Snapshots {

    @Test
    void aGroupsSnapshotIsItsPublishedResourcesAsJson() {
      register("snap-a", "a1", 9011);
      await()
          .atMost(PATIENCE)
          .until(
              () ->
                  edgeSnapshot("clusters").getResourcesList().stream()
                      .anyMatch(r -> r.getName().equals("svc-snap-a")));

      GetSnapshotResponse snapshot =
          admin().getSnapshot(GetSnapshotRequest.newBuilder().setGroup("edge").build());

      assertThat(snapshot.getGroup()).isEqualTo("edge");
      assertThat(snapshot.getResourcesList())
          .extracting(r -> r.getType() + "/" + r.getName())
          .contains(
              "clusters/svc-snap-a",
              "endpoints/svc-snap-a",
              "routes/gateway-routes",
              "listeners/http");
      assertThat(endpointsJson("snap-a")).contains("\"portValue\": 9011");
    }

    @Test
    void aNodesSnapshotIsItsGroups() {
      // A staged publication of an earlier test may still be under way: compare the two between
      // publications.
      await()
          .atMost(PATIENCE)
          .untilAsserted(
              () -> {
                GetSnapshotResponse byNode =
                    admin()
                        .getSnapshot(GetSnapshotRequest.newBuilder().setNodeId("edge-1").build());
                GetSnapshotResponse byGroup =
                    admin().getSnapshot(GetSnapshotRequest.newBuilder().setGroup("edge").build());

                assertThat(byNode.getGroup()).isEqualTo("edge");
                assertThat(byNode.getVersion()).isEqualTo(byGroup.getVersion());
              });
    }

    @Test
    void filtersByTypeAndName() {
      GetSnapshotResponse listeners =
          admin()
              .getSnapshot(
                  GetSnapshotRequest.newBuilder()
                      .setGroup("edge")
                      .setType("listener")
                      .setName("http")
                      .build());

      assertThat(listeners.getResourcesList())
          .extracting(r -> r.getType() + "/" + r.getName())
          .containsExactly("listeners/http");
    }

    @Test
    void unknownTargetsAndBadArgumentsAreNamed() {
      assertStatus(
          () -> admin().getSnapshot(GetSnapshotRequest.newBuilder().setNodeId("ghost").build()),
          Status.Code.NOT_FOUND,
          "node 'ghost' is not connected");
      assertStatus(
          () -> admin().getSnapshot(GetSnapshotRequest.newBuilder().setGroup("nowhere").build()),
          Status.Code.NOT_FOUND,
          "group 'nowhere'");
      assertStatus(
          () ->
              admin()
                  .getSnapshot(
                      GetSnapshotRequest.newBuilder().setGroup("edge").setType("pods").build()),
          Status.Code.INVALID_ARGUMENT,
          "type: 'pods' is not one of clusters, endpoints");
      assertStatus(
          () -> admin().getSnapshot(GetSnapshotRequest.getDefaultInstance()),
          Status.Code.INVALID_ARGUMENT,
          "node_id or group");
      assertStatus(
          () ->
              admin()
                  .getSnapshot(
                      GetSnapshotRequest.newBuilder()
                          .setGroup("edge")
                          .setType("clusters")
                          .setName("svc-ghost")
                          .build()),
          Status.Code.NOT_FOUND,
          "no clusters named 'svc-ghost'");
    }
  }

  @Nested
  class Services {

    @Test
    void aServiceShowsItsInstancesWithLeaseTimeLeftAndItsRoutesWithPolicies() {
      register(
          "svc-a",
          "a1",
          9021,
          RateLimitPolicy.newBuilder().setRequests(5).setUnit(RateLimitPolicy.Unit.MINUTE).build());

      Service service =
          admin().getService(GetServiceRequest.newBuilder().setService("svc-a").build());

      assertThat(service.getStatus()).isEqualTo(RegistrationStatus.ACTIVE);
      Instance instance = service.getInstances(0);
      assertThat(instance.getId()).isEqualTo("a1");
      assertThat(instance.getAddress()).isEqualTo("127.0.0.1");
      assertThat(instance.getPort()).isEqualTo(9021);
      assertThat(instance.getZone()).isEqualTo("zone-a");
      assertThat(instance.getState()).isEqualTo(Instance.State.SERVING);
      assertThat(Durations.toMillis(instance.getLeaseRemaining())).isBetween(1L, 10_000L);
      Route route = service.getRoutes(0);
      assertThat(route.getOwner()).isEqualTo("svc-a");
      assertThat(route.getMatch()).isEqualTo("prefix /svc-a");
      assertThat(route.getName()).isEqualTo("svc-a: prefix /svc-a");
      assertThat(route.getAction()).isEqualTo("forward");
      assertThat(route.getDestination()).isEqualTo("svc-a");
      assertThat(route.getRateLimit().getRequests()).isEqualTo(5);
      assertThat(route.getRateLimitSource()).isEqualTo(PolicySource.REGISTRATION);
      assertThat(route.getAuthSource()).isEqualTo(PolicySource.NO_POLICY);
    }

    @Test
    void aServiceShowsItsUpstreamProtocolHttp1WhenItSaidNone() {
      register("svc-h1", "h1", 9025);
      RegistryGrpc.newBlockingStub(registryChannel)
          .withDeadlineAfter(5, TimeUnit.SECONDS)
          .register(
              RegisterRequest.newBuilder()
                  .setService("svc-grpc")
                  .setInstance(
                      io.signalbox.registry.v1.Instance.newBuilder()
                          .setId("g1")
                          .setHost("127.0.0.1")
                          .setPort(9026))
                  .setUpstreamProtocol(io.signalbox.registry.v1.UpstreamProtocol.GRPC)
                  .build());

      assertThat(
              admin()
                  .getService(GetServiceRequest.newBuilder().setService("svc-h1").build())
                  .getUpstreamProtocol())
          .isEqualTo(io.signalbox.registry.v1.UpstreamProtocol.HTTP1);
      assertThat(
              admin()
                  .getService(GetServiceRequest.newBuilder().setService("svc-grpc").build())
                  .getUpstreamProtocol())
          .isEqualTo(io.signalbox.registry.v1.UpstreamProtocol.GRPC);
    }

    @Test
    void aRouteWithoutItsOwnLimitShowsTheOperatorsDefault() {
      register("svc-b", "b1", 9022);

      Route route =
          admin()
              .getService(GetServiceRequest.newBuilder().setService("svc-b").build())
              .getRoutes(0);

      assertThat(route.getRateLimit().getRequests()).isEqualTo(100);
      assertThat(route.getRateLimitSource()).isEqualTo(PolicySource.OPERATOR_DEFAULT);
    }

    @Test
    void listsEveryServiceSorted() {
      register("svc-d", "d1", 9024);
      register("svc-c", "c1", 9023);

      List<String> names =
          admin().listServices(ListServicesRequest.getDefaultInstance()).getServicesList().stream()
              .map(Service::getName)
              .toList();

      assertThat(names).contains("svc-c", "svc-d").isSorted();
    }

    @Test
    void anUnknownServiceIsNotFound() {
      assertStatus(
          () -> admin().getService(GetServiceRequest.newBuilder().setService("ghost").build()),
          Status.Code.NOT_FOUND,
          "service 'ghost' is not registered");
      assertStatus(
          () -> admin().getService(GetServiceRequest.getDefaultInstance()),
          Status.Code.INVALID_ARGUMENT,
          "service: required");
    }
  }

  @Nested
  class Actions {

    @Test
    void aDrainedInstanceLeavesEdsUntilUndrained() {
      register("drain-a", "a1", 9031);
      register("drain-a", "a2", 9032);

      Instance drained =
          admin()
              .drainInstance(
                  DrainInstanceRequest.newBuilder()
                      .setService("drain-a")
                      .setInstanceId("a1")
                      .build());

      assertThat(drained.getState()).isEqualTo(Instance.State.DRAINED);
      assertThat(drained.hasEvictAt()).isFalse();
      await()
          .atMost(PATIENCE)
          .untilAsserted(
              () -> assertThat(endpointsJson("drain-a")).doesNotContain("9031").contains("9032"));
      assertThat(
              admin()
                  .getService(GetServiceRequest.newBuilder().setService("drain-a").build())
                  .getInstancesList())
          .extracting(Instance::getState)
          .containsExactly(Instance.State.DRAINED, Instance.State.SERVING);

      admin()
          .undrainInstance(
              UndrainInstanceRequest.newBuilder()
                  .setService("drain-a")
                  .setInstanceId("a1")
                  .build());

      await()
          .atMost(PATIENCE)
          .untilAsserted(() -> assertThat(endpointsJson("drain-a")).contains("9031"));
    }

    @Test
    void aDrainWithAGracePeriodEvictsTheRegistrationAfterIt() {
      register("drain-b", "b1", 9033);
      register("drain-b", "b2", 9034);

      Instance drained =
          admin()
              .drainInstance(
                  DrainInstanceRequest.newBuilder()
                      .setService("drain-b")
                      .setInstanceId("b1")
                      .setEvictAfter(Durations.fromMillis(300))
                      .build());

      assertThat(drained.hasEvictAt()).isTrue();
      await()
          .atMost(PATIENCE)
          .until(
              () ->
                  admin()
                      .getService(GetServiceRequest.newBuilder().setService("drain-b").build())
                      .getInstancesList()
                      .stream()
                      .map(Instance::getId)
                      .toList()
                      .equals(List.of("b2")));
    }

    @Test
    void evictingAServiceRemovesItWhole() {
      register("evict-a", "a1", 9041);
      register("evict-a", "a2", 9042);

      assertThat(
              admin()
                  .evict(EvictRequest.newBuilder().setService("evict-a").build())
                  .getInstanceIdsList())
          .containsExactly("a1", "a2");

      assertStatus(
          () -> admin().getService(GetServiceRequest.newBuilder().setService("evict-a").build()),
          Status.Code.NOT_FOUND,
          "service 'evict-a' is not registered");
    }

    @Test
    void actionsOnUnknownThingsAreNotFoundAndChangeNothing() {
      register("evict-b", "b1", 9043);

      assertStatus(
          () ->
              admin()
                  .evict(
                      EvictRequest.newBuilder().setService("evict-b").setInstanceId("b9").build()),
          Status.Code.NOT_FOUND,
          "instance 'b9' of service 'evict-b' is not registered");
      assertStatus(
          () ->
              admin()
                  .drainInstance(
                      DrainInstanceRequest.newBuilder()
                          .setService("ghost")
                          .setInstanceId("g1")
                          .build()),
          Status.Code.NOT_FOUND,
          "service 'ghost' is not registered");
      assertStatus(
          () ->
              admin()
                  .drainInstance(DrainInstanceRequest.newBuilder().setService("evict-b").build()),
          Status.Code.INVALID_ARGUMENT,
          "instance_id: required");
      assertStatus(
          () ->
              admin()
                  .drainInstance(
                      DrainInstanceRequest.newBuilder()
                          .setService("evict-b")
                          .setInstanceId("b1")
                          .setEvictAfter(Durations.fromSeconds(-1))
                          .build()),
          Status.Code.INVALID_ARGUMENT,
          "evict_after");

      Service service =
          admin().getService(GetServiceRequest.newBuilder().setService("evict-b").build());
      assertThat(service.getInstancesList())
          .extracting(Instance::getState)
          .containsExactly(Instance.State.SERVING);
    }

    @Test
    void pausedPushesHoldBackNewRegistrationsUntilResumed() {
      String before =
          admin().getPushState(GetPushStateRequest.getDefaultInstance()).getPublishedVersion();
      PushState paused = admin().pausePushes(PausePushesRequest.getDefaultInstance());
      try {
        assertThat(paused.getPaused()).isTrue();
        assertThat(paused.hasPausedSince()).isTrue();
        assertThat(health(AdminServer.PUSHES_HEALTH_SERVICE)).isEqualTo(ServingStatus.NOT_SERVING);

        register("paused-a", "a1", 9051);

        await()
            .during(Duration.ofMillis(200))
            .atMost(PATIENCE)
            .until(
                () ->
                    edgeSnapshot("clusters").getResourcesList().stream()
                        .noneMatch(r -> r.getName().equals("svc-paused-a")));
        PushState state = admin().listProxies(ListProxiesRequest.getDefaultInstance()).getPushes();
        assertThat(state.getPaused()).isTrue();
        assertThat(state.getChangesPending()).isTrue();
        assertThat(state.getPublishedVersion()).isEqualTo(before);
      } finally {
        admin().resumePushes(ResumePushesRequest.getDefaultInstance());
      }
      await()
          .atMost(PATIENCE)
          .until(
              () ->
                  edgeSnapshot("clusters").getResourcesList().stream()
                      .anyMatch(r -> r.getName().equals("svc-paused-a")));
      assertThat(health(AdminServer.PUSHES_HEALTH_SERVICE)).isEqualTo(ServingStatus.SERVING);
      assertThat(admin().getPushState(GetPushStateRequest.getDefaultInstance()).getPaused())
          .isFalse();
    }

    private ServingStatus health(String service) {
      return HealthGrpc.newBlockingStub(adminChannel)
          .check(HealthCheckRequest.newBuilder().setService(service).build())
          .getStatus();
    }
  }

  @Nested
  class HistoryAndDiff {

    @Test
    void theHistoryNamesTheServiceWhoseRegistrationCausedEachSnapshot() {
      register("hist-a", "a1", 9061);

      HistoryEntry entry =
          await()
              .atMost(PATIENCE)
              .until(
                  () ->
                      admin().history(HistoryRequest.getDefaultInstance()).getEntriesList().stream()
                          .filter(
                              e ->
                                  e.getServicesList().stream()
                                      .anyMatch(s -> s.getService().equals("hist-a")))
                          .findFirst(),
                  Optional::isPresent)
              .orElseThrow();

      assertThat(entry.getServicesList())
          .contains(
              ServiceChange.newBuilder()
                  .setService("hist-a")
                  .setKind(ServiceChange.Kind.ADDED)
                  .setChangedBy("register by a plaintext caller")
                  .build());
      assertThat(entry.getChangesList())
          .anySatisfy(
              changes -> {
                assertThat(changes.getType()).isEqualTo("clusters");
                assertThat(changes.getAddedList()).contains("svc-hist-a");
              });
    }

    @Test
    void aLimitedHistoryIsTheNewestEntries() {
      register("hist-b", "b1", 9062);
      await()
          .atMost(PATIENCE)
          .until(() -> admin().history(HistoryRequest.getDefaultInstance()).getEntriesCount() >= 2);

      List<HistoryEntry> all =
          admin().history(HistoryRequest.getDefaultInstance()).getEntriesList();
      List<HistoryEntry> two =
          admin().history(HistoryRequest.newBuilder().setLimit(2).build()).getEntriesList();

      assertThat(two).containsExactlyElementsOf(all.subList(0, 2));
      assertStatus(
          () -> admin().history(HistoryRequest.newBuilder().setLimit(-1).build()),
          Status.Code.INVALID_ARGUMENT,
          "limit");
    }

    @Test
    void twoVersionsDiffByResourceNameAndAPrefixWillDo() {
      String from =
          admin().getPushState(GetPushStateRequest.getDefaultInstance()).getPublishedVersion();
      register("diff-a", "a1", 9063);
      String to =
          await()
              .atMost(PATIENCE)
              .until(
                  () -> edgeSnapshot("clusters"),
                  s ->
                      s.getResourcesList().stream().anyMatch(r -> r.getName().equals("svc-diff-a")))
              .getVersion();

      DiffSnapshotsResponse diff =
          admin()
              .diffSnapshots(
                  DiffSnapshotsRequest.newBuilder()
                      .setFromVersion(from.substring(0, 8))
                      .setToVersion(to)
                      .setGroup("edge")
                      .build());

      assertThat(diff.getFromVersion()).isEqualTo(from);
      assertThat(diff.getChangesList())
          .anySatisfy(
              changes -> {
                assertThat(changes.getType()).isEqualTo("clusters");
                assertThat(changes.getAddedList()).containsExactly("svc-diff-a");
              });
    }

    @Test
    void unknownVersionsAndGroupsAreNamed() {
      String version =
          admin().getPushState(GetPushStateRequest.getDefaultInstance()).getPublishedVersion();

      assertStatus(
          () ->
              admin()
                  .diffSnapshots(
                      DiffSnapshotsRequest.newBuilder()
                          .setFromVersion("0000000000000000")
                          .setToVersion(version)
                          .build()),
          Status.Code.NOT_FOUND,
          "from_version: version '0000000000000000'");
      assertStatus(
          () ->
              admin()
                  .diffSnapshots(DiffSnapshotsRequest.newBuilder().setFromVersion(version).build()),
          Status.Code.INVALID_ARGUMENT,
          "to_version: required");
      assertStatus(
          () ->
              admin()
                  .diffSnapshots(
                      DiffSnapshotsRequest.newBuilder()
                          .setGroup("nowhere")
                          .setFromVersion(version)
                          .setToVersion(version)
                          .build()),
          Status.Code.NOT_FOUND,
          "group 'nowhere'");
    }
  }

  @Test
  void theAdminServerServesReflection() throws Exception {
    CompletableFuture<ServerReflectionResponse> answer = new CompletableFuture<>();
    StreamObserver<ServerReflectionRequest> requests =
        ServerReflectionGrpc.newStub(adminChannel)
            .serverReflectionInfo(
                new StreamObserver<>() {
                  @Override
                  public void onNext(ServerReflectionResponse response) {
                    answer.complete(response);
                  }

                  @Override
                  public void onError(Throwable error) {
                    answer.completeExceptionally(error);
                  }

                  @Override
                  public void onCompleted() {}
                });
    requests.onNext(ServerReflectionRequest.newBuilder().setListServices("").build());

    assertThat(answer.get(5, TimeUnit.SECONDS).getListServicesResponse().getServiceList())
        .extracting(s -> s.getName())
        .contains("signalbox.admin.v1.Admin", "grpc.health.v1.Health");
    requests.onCompleted();
  }
}
