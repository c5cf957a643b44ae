package io.signalbox.xds;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.Duration;
import com.google.protobuf.InvalidProtocolBufferException;
import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.controlplane.server.V3DiscoveryServer;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.StreamObserver;
import io.signalbox.translate.XdsResources;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * State-of-the-world EDS by difference, through java-control-plane's own ADS server, with a
 * simulated Envoy that keeps what EDS responses leave out and, as Envoy does, makes a changed
 * cluster anew and keeps it warming until an EDS response after that brings its assignment.
 */
class SotwEndpointDifferencesTest {

  private static final String GROUP = "edge";

  private XdsSnapshotCache cache;
  private Server server;
  private ManagedChannel channel;
  private final List<SimulatedEnvoy> envoys = new ArrayList<>();

  /** Each cluster's definition (its connect timeout) and assignment (its port), by name. */
  private final Map<String, int[]> registry = new TreeMap<>();

  @BeforeEach
  void serve() throws Exception {
    cache = new XdsSnapshotCache(node -> GROUP);
    String name = InProcessServerBuilder.generateName();
    server =
        InProcessServerBuilder.forName(name)
            .addService(new V3DiscoveryServer(cache).getAggregatedDiscoveryServiceImpl())
            .build()
            .start();
    channel = InProcessChannelBuilder.forName(name).build();
  }

  @AfterEach
  void stop() {
    channel.shutdownNow();
    server.shutdownNow();
  }

  @Test
  void anInstanceChangeSendsTheEnvoyOnlyThatClustersAssignment() {
    SimulatedEnvoy envoy = anEnvoyInSyncWith(50);
    assertThat(envoy.lastEndpointResponse().getResourcesCount()).isEqualTo(50);

    registry.get("c7")[1] = 9007;
    publish();

    awaitInSync(envoy);
    assertThat(names(envoy.lastEndpointResponse())).containsExactly("c7");
  }

  @Test
  void aNewClusterBringsItsAssignmentAndNoOther() {
    SimulatedEnvoy envoy = anEnvoyInSyncWith(20);

    registry.put("new", new int[] {1, 7000});
    publish();

    awaitInSync(envoy);
    assertThat(names(envoy.lastEndpointResponse())).containsExactly("new");
  }

  @Test
  void aChangedClusterIsSentItsUnchangedAssignmentAgainSoThatItWarms() {
    SimulatedEnvoy envoy = anEnvoyInSyncWith(20);

    registry.get("c3")[0] = 2;
    publish();

    awaitInSync(envoy);
    assertThat(envoy.warming()).isEmpty();
    assertThat(names(envoy.lastEndpointResponse())).containsExactly("c3");
  }

  @Test
  void anEnvoyHoldingAVersionThisCacheNeverSentIsSentEveryAssignment() {
    registerClusters(10);
    SimulatedEnvoy envoy = connect("envoy-1", "a-version-from-another-replica");

    awaitInSync(envoy);
    assertThat(envoy.lastEndpointResponse().getResourcesCount()).isEqualTo(10);
  }

  @Test
  void anEnvoyThatRejectedAnUpdateIsSentEveryAssignmentNext() {
    SimulatedEnvoy envoy = anEnvoyInSyncWith(10);
    envoy.rejectNextEndpoints();

    registry.get("c2")[1] = 9002;
    publish();

    // Envoy may have applied part of what it rejected: the answer to its rejection is whole.
    awaitInSync(envoy);
    assertThat(envoy.lastEndpointResponse().getResourcesCount()).isEqualTo(10);
  }

  /**
   * Random changes (instances, cluster definitions, clusters added and removed) published while
   * three Envoys answer on their own threads: each ends holding exactly the registry, no cluster
   * left warming.
   */
  @Test
  void randomChangesLeaveEveryEnvoyHoldingTheRegistryWithNoClusterWarming() {
    Random random = new Random(5_12_2026);
    registerClusters(30);
    for (int e = 0; e < 3; e++) {
      connect("envoy-" + e);
    }
    for (int round = 0; round < 60; round++) {
      for (int change = random.nextInt(4); change >= 0; change--) {
        String name = "c" + random.nextInt(40);
        int[] cluster = registry.get(name);
        switch (random.nextInt(4)) {
          case 0 -> registry.put(name, new int[] {1, 8000 + random.nextInt(1000)});
          case 1 -> registry.remove(name);
          case 2 -> {
            if (cluster != null) {
              cluster[0] = 1 + random.nextInt(5);
            }
          }
          default -> {
            if (cluster != null) {
              cluster[1] = 8000 + random.nextInt(1000);
            }
          }
        }
      }
      publish();
      if (round % 10 == 9) {
        envoys.forEach(this::awaitInSync);
      }
    }
    envoys.forEach(this::awaitInSync);
  }

  /** Clusters c0, c1, ... published, each with its own port. */
  private void registerClusters(int count) {
    for (int i = 0; i < count; i++) {
      registry.put("c" + i, new int[] {1, 8000 + i});
    }
    publish();
  }

  private SimulatedEnvoy anEnvoyInSyncWith(int clusters) {
    registerClusters(clusters);
    SimulatedEnvoy envoy = connect("envoy-1");
    awaitInSync(envoy);
    return envoy;
  }

  private void awaitInSync(SimulatedEnvoy envoy) {
    ContentVersionedSnapshot snapshot = (ContentVersionedSnapshot) cache.getSnapshot(GROUP);
    await()
        .atMost(java.time.Duration.ofSeconds(10))
        .untilAsserted(
            () -> {
              assertThat(envoy.clusters()).isEqualTo(snapshot.clusters().resources());
              assertThat(envoy.assignments()).isEqualTo(snapshot.endpoints().resources());
              assertThat(envoy.warming()).isEmpty();
            });
  }

  private void publish() {
    List<Cluster> clusters = new ArrayList<>();
    List<ClusterLoadAssignment> assignments = new ArrayList<>();
    registry.forEach(
        (name, cluster) -> {
          clusters.add(
              Cluster.newBuilder()
                  .setName(name)
                  .setType(Cluster.DiscoveryType.EDS)
                  .setConnectTimeout(Duration.newBuilder().setSeconds(cluster[0]))
                  .build());
          assignments.add(TestAssignments.onPort(name, cluster[1]));
        });
    ContentVersionedSnapshot previous = (ContentVersionedSnapshot) cache.getSnapshot(GROUP);
    XdsResources resources =
        new XdsResources(List.of(), List.of(), clusters, assignments, List.of());
    cache.setSnapshot(
        GROUP,
        previous == null
            ? ContentVersionedSnapshot.of(resources)
            : ContentVersionedSnapshot.of(resources, previous));
  }

  private static List<String> names(DiscoveryResponse response) {
    return response.getResourcesList().stream()
        .map(any -> unpack(any, ClusterLoadAssignment.class).getClusterName())
        .toList();
  }

  private static <T extends com.google.protobuf.Message> T unpack(
      com.google.protobuf.Any any, Class<T> type) {
    try {
      return any.unpack(type);
    } catch (InvalidProtocolBufferException e) {
      throw new AssertionError(e);
    }
  }

  private SimulatedEnvoy connect(String id) {
    return connect(id, "");
  }

  private SimulatedEnvoy connect(String id, String endpointVersion) {
    SimulatedEnvoy envoy = new SimulatedEnvoy(id, endpointVersion);
    envoys.add(envoy);
    return envoy;
  }

  /**
   * An Envoy on a state-of-the-world ADS stream, as far as clusters and endpoints go: it asks for
   * every cluster, then for the endpoints of the clusters it has; it keeps the assignments an EDS
   * response leaves out; a cluster that is new or changed waits, warming, for an EDS response after
   * it.
   */
  private final class SimulatedEnvoy implements StreamObserver<DiscoveryResponse> {
    private final Node node;
    private final StreamObserver<DiscoveryRequest> requests;
    private final Map<String, Cluster> clusters = new HashMap<>();
    private final Map<String, ClusterLoadAssignment> assignments = new HashMap<>();
    private final Set<String> warming = new HashSet<>();
    private final List<DiscoveryResponse> endpointResponses = new CopyOnWriteArrayList<>();
    private String endpointVersion;
    private String endpointNonce = "";
    private boolean rejectNext;

    SimulatedEnvoy(String id, String endpointVersion) {
      this.node = Node.newBuilder().setId(id).setCluster(GROUP).build();
      this.endpointVersion = endpointVersion;
      this.requests =
          AggregatedDiscoveryServiceGrpc.newStub(channel).streamAggregatedResources(this);
      send(
          DiscoveryRequest.newBuilder()
              .setNode(node)
              .setTypeUrl(Resources.V3.CLUSTER_TYPE_URL)
              .build());
    }

    @Override
    public synchronized void onNext(DiscoveryResponse response) {
      if (response.getTypeUrl().equals(Resources.V3.CLUSTER_TYPE_URL)) {
        Map<String, Cluster> received = new HashMap<>();
        response
            .getResourcesList()
            .forEach(
                any -> {
                  Cluster cluster = unpack(any, Cluster.class);
                  received.put(cluster.getName(), cluster);
                });
        received.forEach(
            (name, cluster) -> {
              if (!cluster.equals(clusters.get(name))) {
                warming.add(name);
              }
            });
        clusters.keySet().retainAll(received.keySet());
        clusters.putAll(received);
        assignments.keySet().retainAll(received.keySet());
        warming.retainAll(received.keySet());
        send(endpointRequest());
        send(
            DiscoveryRequest.newBuilder()
                .setNode(node)
                .setTypeUrl(Resources.V3.CLUSTER_TYPE_URL)
                .setVersionInfo(response.getVersionInfo())
                .setResponseNonce(response.getNonce())
                .build());
      } else if (rejectNext) {
        rejectNext = false;
        send(
            endpointRequest().toBuilder()
                .setResponseNonce(response.getNonce())
                .setErrorDetail(com.google.rpc.Status.newBuilder().setMessage("rejected"))
                .build());
      } else {
        endpointResponses.add(response);
        response
            .getResourcesList()
            .forEach(
                any -> {
                  ClusterLoadAssignment assignment = unpack(any, ClusterLoadAssignment.class);
                  if (clusters.containsKey(assignment.getClusterName())) {
                    assignments.put(assignment.getClusterName(), assignment);
                    warming.remove(assignment.getClusterName());
                  }
                });
        endpointVersion = response.getVersionInfo();
        endpointNonce = response.getNonce();
        send(endpointRequest());
      }
    }

    private DiscoveryRequest endpointRequest() {
      return DiscoveryRequest.newBuilder()
          .setNode(node)
          .setTypeUrl(Resources.V3.ENDPOINT_TYPE_URL)
          .addAllResourceNames(new TreeMap<>(clusters).keySet())
          .setVersionInfo(endpointVersion)
          .setResponseNonce(endpointNonce)
          .build();
    }

    private synchronized void send(DiscoveryRequest request) {
      requests.onNext(request);
    }

    synchronized Map<String, Cluster> clusters() {
      return Map.copyOf(clusters);
    }

    synchronized Map<String, ClusterLoadAssignment> assignments() {
      return Map.copyOf(assignments);
    }

    synchronized Set<String> warming() {
      return Set.copyOf(warming);
    }

    synchronized void rejectNextEndpoints() {
      rejectNext = true;
    }

    DiscoveryResponse lastEndpointResponse() {
      return endpointResponses.get(endpointResponses.size() - 1);
    }

    @Override
    public void onError(Throwable error) {}

    @Override
    public void onCompleted() {}
  }
}
