package io.signalbox.xds;

import static org.assertj.core.api.Assertions.assertThat;

import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.controlplane.server.DefaultExecutorGroup;
import io.envoyproxy.controlplane.server.DiscoveryServerCallbacks;
import io.envoyproxy.controlplane.server.V3DiscoveryServer;
import io.envoyproxy.controlplane.server.serializer.DefaultProtoResourcesSerializer;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.StreamObserver;
import io.signalbox.translate.XdsResources;
import java.io.IOException;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Each response is reported written, with its stream's number as the servers' callbacks know it,
 * only once it was handed to the call: over an in-process transport on the calling thread, the
 * client has it by then.
 */
class ResponseWritesTest {

  private static final String GROUP = "edge";
  private static final String CDS = Resources.V3.CLUSTER_TYPE_URL;
  private static final Node NODE = Node.newBuilder().setId("envoy-1").setCluster(GROUP).build();

  /** A response reported written, and how many responses the clients had received by then. */
  private record Report(long streamId, String typeUrl, String nonce, int receivedBefore) {}

  private final XdsSnapshotCache cache = new XdsSnapshotCache(node -> GROUP);
  private final List<Long> opened = new CopyOnWriteArrayList<>();
  private final List<String> receivedNonces = new CopyOnWriteArrayList<>();
  private final List<Report> reports = new CopyOnWriteArrayList<>();
  private volatile String sotwVersion;
  private final Server server;
  private final ManagedChannel channel;

  ResponseWritesTest() throws IOException {
    ResponseWrites writes =
        new ResponseWrites(
            (streamId, typeUrl, nonce) ->
                reports.add(new Report(streamId, typeUrl, nonce, receivedNonces.size())));
    DiscoveryServerCallbacks openings =
        new DiscoveryServerCallbacks() {
          @Override
          public void onStreamOpen(long streamId, String typeUrl) {
            opened.add(streamId);
          }

          @Override
          public void onV3StreamRequest(long streamId, DiscoveryRequest request) {}

          @Override
          public void onV3StreamDeltaRequest(long streamId, DeltaDiscoveryRequest request) {}
        };
    List<DiscoveryServerCallbacks> callbacks = List.of(openings, writes);
    V3DiscoveryServer stateOfTheWorld =
        new V3DiscoveryServer(
            callbacks, cache, new DefaultExecutorGroup(), new DefaultProtoResourcesSerializer());
    DeltaAdsServer delta =
        new DeltaAdsServer(
            callbacks, cache, new DefaultProtoResourcesSerializer(), cache, node -> GROUP);
    String name = InProcessServerBuilder.generateName();
    server =
        InProcessServerBuilder.forName(name)
            .directExecutor()
            .addService(
                io.grpc.ServerInterceptors.intercept(
                    delta.aggregatedDiscoveryService(
                        stateOfTheWorld.getAggregatedDiscoveryServiceImpl()),
                    writes))
            .build()
            .start();
    channel = InProcessChannelBuilder.forName(name).directExecutor().build();
    cache.setSnapshot(GROUP, snapshot("a"));
  }

  @AfterEach
  void stop() throws InterruptedException {
    channel.shutdownNow();
    server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
  }

  @Test
  void eachResponseIsReportedWithItsStreamOnceTheCallHasIt() {
    AggregatedDiscoveryServiceGrpc.AggregatedDiscoveryServiceStub stub =
        AggregatedDiscoveryServiceGrpc.newStub(channel);
    StreamObserver<DiscoveryRequest> sotw =
        stub.streamAggregatedResources(
            new Received<DiscoveryResponse>(
                response -> {
                  sotwVersion = response.getVersionInfo();
                  receivedNonces.add(response.getNonce());
                }));
    StreamObserver<DeltaDiscoveryRequest> deltaStream =
        stub.deltaAggregatedResources(
            new Received<DeltaDiscoveryResponse>(
                response -> receivedNonces.add(response.getNonce())));

    sotw.onNext(DiscoveryRequest.newBuilder().setNode(NODE).setTypeUrl(CDS).build());
    deltaStream.onNext(DeltaDiscoveryRequest.newBuilder().setNode(NODE).setTypeUrl(CDS).build());
    assertThat(receivedNonces).hasSize(2);
    sotw.onNext(
        DiscoveryRequest.newBuilder()
            .setNode(NODE)
            .setTypeUrl(CDS)
            .setVersionInfo(sotwVersion)
            .setResponseNonce(receivedNonces.get(0))
            .build());
    deltaStream.onNext(
        DeltaDiscoveryRequest.newBuilder()
            .setNode(NODE)
            .setTypeUrl(CDS)
            .setResponseNonce(receivedNonces.get(1))
            .build());
    cache.setSnapshot(GROUP, snapshot("a", "b"));

    assertThat(opened).hasSize(2);
    assertThat(reports)
        .as("one report per response, in order, each after the client received it")
        .hasSize(receivedNonces.size())
        .allSatisfy(report -> assertThat(report.typeUrl()).isEqualTo(CDS));
    for (int i = 0; i < reports.size(); i++) {
      assertThat(reports.get(i).receivedBefore()).as("report %d", i).isEqualTo(i + 1);
      assertThat(reports.get(i).nonce()).isEqualTo(receivedNonces.get(i));
    }
    assertThat(reports)
        .extracting(Report::streamId)
        .as("both streams, by the numbers their servers gave them")
        .containsOnly(opened.get(0), opened.get(1))
        .contains(opened.get(0), opened.get(1));
    assertThat(receivedNonces).hasSize(4);
  }

  private static ContentVersionedSnapshot snapshot(String... names) {
    List<Cluster> clusters =
        java.util.Arrays.stream(names)
            .map(n -> Cluster.newBuilder().setName(n).setType(Cluster.DiscoveryType.EDS).build())
            .toList();
    List<ClusterLoadAssignment> assignments =
        java.util.Arrays.stream(names)
            .map(n -> ClusterLoadAssignment.newBuilder().setClusterName(n).build())
            .toList();
    return ContentVersionedSnapshot.of(
        new XdsResources(List.of(), List.of(), clusters, assignments, List.of()));
  }

  /** A client's response observer. */
  private record Received<T>(java.util.function.Consumer<T> onResponse)
      implements StreamObserver<T> {
    @Override
    public void onNext(T response) {
      onResponse.accept(response);
    }

    @Override
    public void onError(Throwable error) {}

    @Override
    public void onCompleted() {}
  }
}
