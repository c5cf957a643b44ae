package io.signalbox.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.ByteString;
import com.google.protobuf.Message;
import io.envoyproxy.controlplane.cache.SnapshotResources;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.signalbox.client.RegistryClient;
import io.signalbox.client.Routes;
import io.signalbox.client.ServiceRegistration;
import io.signalbox.config.GatewaySettings;
import io.signalbox.registry.v1.Instance;
import io.signalbox.registry.v1.PathMatch;
import io.signalbox.registry.v1.RegisterRequest;
import io.signalbox.registry.v1.RegistryGrpc;
import io.signalbox.registry.v1.Route;
import io.signalbox.samples.EchoService;
import io.signalbox.server.ControlPlane;
import io.signalbox.store.EtcdConnection;
import io.signalbox.testing.EnvoyLogsOnFailure;
import io.signalbox.testing.EnvoyProcess;
import io.signalbox.testing.EtcdProcess;
import io.signalbox.testing.FreePorts;
import io.signalbox.testing.HttpProbe;
import io.signalbox.testing.LoadLoop;
import io.signalbox.testing.LoopbackUpstreams;
import io.signalbox.testing.TestControlPlanes;
import io.signalbox.xds.ContentVersionedSnapshot;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Two control-plane replicas on one real etcd, and a real Envoy connected to one of them. */
@ExtendWith(EnvoyLogsOnFailure.class)
class EtcdReplicasEndToEndTest {

  private final List<AutoCloseable> owned = new ArrayList<>();

  @AfterEach
  void closeAll() throws Exception {
    for (int i = owned.size() - 1; i >= 0; i--) {
      owned.get(i).close();
    }
  }

  private <T extends AutoCloseable> T own(T closeable) {
    owned.add(closeable);
    return closeable;
  }

  private ControlPlane replica(EtcdProcess etcd, int gatewayPort) {
    return own(
        ControlPlane.start(
            TestControlPlanes.onLoopback()
                .gateway(
                    LoopbackUpstreams.allowedIn(
                        GatewaySettings.plaintext("127.0.0.1", gatewayPort)))
                .etcd(EtcdConnection.plaintext(List.of(etcd.endpoint()), Duration.ofSeconds(1)))
                .build()));
  }

  /** A ready Envoy of group "edge" connected to {@code replica} only. */
  private EnvoyProcess envoyOn(ControlPlane replica) {
    EnvoyProcess envoy =
        own(
            EnvoyProcess.builder()
                .nodeId("edge-b")
                .nodeCluster("edge")
                .xdsPort(replica.grpcPort())
                .start());
    envoy.awaitReady();
    return envoy;
  }

  private RegistryGrpc.RegistryBlockingStub registry(ControlPlane controlPlane) {
    ManagedChannel channel =
        NettyChannelBuilder.forAddress("127.0.0.1", controlPlane.grpcPort()).usePlaintext().build();
    own(channel::shutdownNow);
    return RegistryGrpc.newBlockingStub(channel);
  }

  private static RegisterRequest registration(String service, int port) {
    return RegisterRequest.newBuilder()
        .setService(service)
        .setInstance(Instance.newBuilder().setId(service + "-1").setHost("127.0.0.1").setPort(port))
        .addRoutes(Route.newBuilder().setPath(PathMatch.newBuilder().setPrefix("/" + service)))
        .setLeaseTtl(com.google.protobuf.Duration.newBuilder().setSeconds(60))
        .build();
  }

  @Test
  void anEnvoyOnReplicaBServesWhatIsRegisteredThroughReplicaAAndBothBuildTheSameSnapshot() {
    EtcdProcess etcd = own(EtcdProcess.launch());
    int gatewayPort = FreePorts.allocate();
    ControlPlane a = replica(etcd, gatewayPort);
    ControlPlane b = replica(etcd, gatewayPort);
    envoyOn(b);
    EchoService orders = own(EchoService.start("orders", "orders-1", "127.0.0.1", 0));

    registry(a)
        .withDeadlineAfter(5, TimeUnit.SECONDS)
        .register(registration("orders", orders.port()));

    HttpProbe.awaitStatus(
        "http://127.0.0.1:" + gatewayPort + "/orders", 200, Duration.ofSeconds(1));
    await()
        .atMost(Duration.ofSeconds(2))
        .untilAsserted(
            () -> {
              ContentVersionedSnapshot snapshotA = a.publisher().current();
              ContentVersionedSnapshot snapshotB = b.publisher().current();
              assertThat(snapshotB.version()).isEqualTo(snapshotA.version());
              assertThat(bytes(snapshotB)).isEqualTo(bytes(snapshotA)).isNotEmpty();
            });
    // Both see both, and exactly one of them removes expired leases.
    await()
        .atMost(Duration.ofSeconds(2))
        .untilAsserted(
            () -> {
              assertThat(a.metrics().scrape()).contains("signalbox_etcd_replicas_present 2.0");
              assertThat(b.metrics().scrape()).contains("signalbox_etcd_replicas_present 2.0");
            });
    assertThat(List.of(a.metrics().scrape(), b.metrics().scrape()))
        .filteredOn(text -> text.contains("signalbox_lease_expiry_leader 1.0"))
        .hasSize(1);
  }

  @Test
  void withoutEtcdRegistrationsAreUnavailableWhileRegisteredRoutesKeepServingUntilEtcdReturns() {
    EtcdProcess etcd = own(EtcdProcess.launch());
    int gatewayPort = FreePorts.allocate();
    ControlPlane a = replica(etcd, gatewayPort);
    ControlPlane b = replica(etcd, gatewayPort);
    envoyOn(b);
    EchoService orders = own(EchoService.start("orders", "orders-1", "127.0.0.1", 0));
    EchoService users = own(EchoService.start("users", "users-1", "127.0.0.1", 0));
    registry(a)
        .withDeadlineAfter(5, TimeUnit.SECONDS)
        .register(registration("orders", orders.port()));
    HttpProbe.awaitStatus(
        "http://127.0.0.1:" + gatewayPort + "/orders", 200, Duration.ofSeconds(5));

    etcd.stop();

    assertThatThrownBy(
            () ->
                registry(a)
                    .withDeadlineAfter(5, TimeUnit.SECONDS)
                    .register(registration("users", users.port())))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE));
    for (int i = 0; i < 10; i++) {
      assertThat(HttpProbe.get("http://127.0.0.1:" + gatewayPort + "/orders").status())
          .isEqualTo(200);
    }

    etcd.start();

    await()
        .atMost(Duration.ofSeconds(15))
        .ignoreExceptionsInstanceOf(StatusRuntimeException.class)
        .until(
            () ->
                registry(a)
                        .withDeadlineAfter(5, TimeUnit.SECONDS)
                        .register(registration("users", users.port()))
                    != null);
    HttpProbe.awaitStatus("http://127.0.0.1:" + gatewayPort + "/users", 200, Duration.ofSeconds(5));
    assertThat(HttpProbe.get("http://127.0.0.1:" + gatewayPort + "/orders").status())
        .isEqualTo(200);
  }

  /**
   * The bootstrap lists both replicas. The one the Envoy is connected to goes away: the Envoy fails
   * over to the other, which has the same registry from etcd and so the same version strings, so
   * nothing is re-sent and no request fails.
   */
  @Test
  void anEnvoyFailsOverToTheOtherReplicaWithoutConfigChurnOrFailedRequests() throws Exception {
    EtcdProcess etcd = own(EtcdProcess.launch());
    int gatewayPort = FreePorts.allocate();
    ControlPlane a = replica(etcd, gatewayPort);
    ControlPlane b = replica(etcd, gatewayPort);
    EchoService orders = own(EchoService.start("orders", "orders-1", "127.0.0.1", 0));
    registry(a)
        .withDeadlineAfter(5, TimeUnit.SECONDS)
        .register(registration("orders", orders.port()));
    await()
        .atMost(Duration.ofSeconds(2))
        .until(
            () ->
                b.publisher().current() != null
                    && b.publisher().current().version().equals(a.publisher().current().version()));
    EnvoyProcess envoy =
        own(
            EnvoyProcess.builder()
                .nodeId("edge-ab")
                .nodeCluster("edge")
                .xdsPorts(List.of(a.grpcPort(), b.grpcPort()))
                .start());
    envoy.awaitReady();
    String url = "http://127.0.0.1:" + gatewayPort + "/orders";
    HttpProbe.awaitStatus(url, 200, Duration.ofSeconds(5));
    ControlPlane connected = a.xdsCallbacks().proxies().proxies().isEmpty() ? b : a;
    ControlPlane other = connected == a ? b : a;
    long clusterUpdates = envoy.statValue("cluster_manager.cds.update_success");
    long listenerUpdates = envoy.statValue("listener_manager.lds.update_success");

    LoadLoop load = LoadLoop.start("load", List.of(url), Duration.ZERO);
    try {
      connected.close();
      await()
          .atMost(Duration.ofSeconds(15))
          .until(() -> !other.xdsCallbacks().proxies().proxies().isEmpty());
      Thread.sleep(500);
    } finally {
      load.stop();
    }

    assertThat(load.sent()).as("requests while the Envoy failed over").isGreaterThan(10);
    assertThat(load.statuses()).as("statuses while the Envoy failed over").containsOnlyKeys(200);
    assertThat(envoy.statValue("cluster_manager.cds.update_success"))
        .as("clusters re-sent")
        .isEqualTo(clusterUpdates);
    assertThat(envoy.statValue("listener_manager.lds.update_success"))
        .as("listeners re-sent")
        .isEqualTo(listenerUpdates);
  }

  /**
   * Every replica is down for longer than the instances' TTL. Envoy keeps serving meanwhile; the
   * first replica to start again finds no other one and gives every lease a grace period, so the
   * SDK renews its lease instead of the instance expiring: no failed request, no configuration
   * change.
   */
  @Test
  void afterTheWholeTierWasDownLongerThanATtlTheInstancesAreStillServedAndRenewed()
      throws Exception {
    EtcdProcess etcd = own(EtcdProcess.launch());
    int gatewayPort = FreePorts.allocate();
    int grpcPort = FreePorts.allocate();
    ControlPlane first = replicaOn(etcd, grpcPort, gatewayPort);
    EchoService orders = own(EchoService.start("orders", "orders-1", "127.0.0.1", 0));
    RegistryClient sdk =
        own(
            RegistryClient.builder()
                .target("127.0.0.1:" + grpcPort)
                .shutdownHook(false)
                .reconnectBackoff(Duration.ofMillis(100), Duration.ofMillis(500))
                .build());
    sdk.register(
        ServiceRegistration.builder("orders")
            .instance(orders.instanceId(), "127.0.0.1", orders.port())
            .route(Routes.prefix("/orders"))
            .leaseTtl(TIER_TEST_TTL)
            .build());
    EnvoyProcess envoy = envoyOn(first);
    String url = "http://127.0.0.1:" + gatewayPort + "/orders";
    HttpProbe.awaitStatus(url, 200, Duration.ofSeconds(5));
    long clusterUpdates = envoy.statValue("cluster_manager.cds.update_success");
    long endpointUpdates = envoy.statValue("cluster_manager.cluster_added");

    LoadLoop load = LoadLoop.start("load", List.of(url), Duration.ofMillis(20));
    ControlPlane again;
    try {
      first.close();
      Thread.sleep(TIER_TEST_TTL.multipliedBy(3).toMillis() / 2);
      again = replicaOn(etcd, grpcPort, gatewayPort);
      // Envoy retried while the tier was down, and its xDS backoff grows up to 30 s (with jitter):
      // waiting less made this test fail whenever the backoff happened to be long.
      await()
          .atMost(Duration.ofSeconds(35))
          .until(() -> !again.xdsCallbacks().proxies().proxies().isEmpty());
      // Long past the lease's own expiry and the grace period: only the SDK's renewals keep the
      // instance now.
      Thread.sleep(TIER_TEST_TTL.multipliedBy(2).toMillis());
    } finally {
      load.stop();
    }

    assertThat(load.statuses()).as("statuses while no replica ran and after").containsOnlyKeys(200);
    assertThat(load.sent()).as("requests sent").isGreaterThan(50);
    assertThat(again.publisher().current().endpoints().resources())
        .as("the instance is still served")
        .isNotEmpty();
    assertThat(envoy.statValue("cluster_manager.cds.update_success"))
        .as("clusters re-sent")
        .isEqualTo(clusterUpdates);
    assertThat(envoy.statValue("cluster_manager.cluster_added")).isEqualTo(endpointUpdates);
  }

  private static final Duration TIER_TEST_TTL = Duration.ofSeconds(2);

  private ControlPlane replicaOn(EtcdProcess etcd, int grpcPort, int gatewayPort) {
    return own(
        ControlPlane.start(
            TestControlPlanes.onLoopback()
                .grpcPort(grpcPort)
                .gateway(
                    LoopbackUpstreams.allowedIn(
                        GatewaySettings.plaintext("127.0.0.1", gatewayPort)))
                .etcd(EtcdConnection.plaintext(List.of(etcd.endpoint()), Duration.ofSeconds(1)))
                .build()));
  }

  /** Every resource of the snapshot as its serialized bytes, by type and name. */
  private static SortedMap<String, ByteString> bytes(ContentVersionedSnapshot snapshot) {
    SortedMap<String, ByteString> all = new TreeMap<>();
    add(all, "clusters", snapshot.clusters());
    add(all, "endpoints", snapshot.endpoints());
    add(all, "listeners", snapshot.listeners());
    add(all, "routes", snapshot.routes());
    add(all, "secrets", snapshot.secrets());
    return all;
  }

  private static <T extends Message> void add(
      SortedMap<String, ByteString> all, String type, SnapshotResources<T> resources) {
    resources
        .resources()
        .forEach((name, resource) -> all.put(type + "/" + name, resource.toByteString()));
  }
}
