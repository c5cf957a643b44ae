package io.signalbox.testing;

import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A stand-in for Envoy on an ADS stream, for tests of the control plane's side of xDS without an
 * Envoy process: it subscribes to clusters and listeners (wildcard), and acknowledges every
 * response, or rejects those of the types it was told to reject, as Envoy would.
 */
public final class FakeAdsClient implements AutoCloseable {

  public static final String CLUSTERS = Resources.V3.CLUSTER_TYPE_URL;
  public static final String LISTENERS = Resources.V3.LISTENER_TYPE_URL;
  public static final String ROUTES = Resources.V3.ROUTE_TYPE_URL;

  private final ManagedChannel channel;
  private final Node node;

  /** Type URLs a state-of-the-world stream rejects; resource names a delta stream rejects. */
  private final Set<String> rejects;

  private final List<String> receivedVersions = new CopyOnWriteArrayList<>();
  private StreamObserver<DiscoveryRequest> sotw;
  private StreamObserver<DeltaDiscoveryRequest> delta;

  private FakeAdsClient(int xdsPort, Node node, Set<String> rejects) {
    this.channel = NettyChannelBuilder.forAddress("127.0.0.1", xdsPort).usePlaintext().build();
    this.node = node;
    this.rejects = rejects;
  }

  public static Node node(String id, String group) {
    return Node.newBuilder()
        .setId(id)
        .setCluster(group)
        .setUserAgentName("fake-envoy")
        .setUserAgentVersion("0.0.1-test")
        .build();
  }

  /** A state-of-the-world stream; responses of {@code rejectedTypes} are NACKed. */
  public static FakeAdsClient sotw(int xdsPort, Node node, Set<String> rejectedTypes) {
    FakeAdsClient client = new FakeAdsClient(xdsPort, node, rejectedTypes);
    client.sotw =
        AggregatedDiscoveryServiceGrpc.newStub(client.channel)
            .streamAggregatedResources(client.new SotwResponses());
    for (String type : List.of(CLUSTERS, LISTENERS)) {
      client.sendSotw(DiscoveryRequest.newBuilder().setNode(node).setTypeUrl(type).build());
    }
    return client;
  }

  /** An incremental stream that acknowledges everything. */
  public static FakeAdsClient delta(int xdsPort, Node node) {
    return deltaRejecting(xdsPort, node, Set.of());
  }

  /**
   * An incremental stream that rejects every response carrying a resource named in {@code
   * rejectedNames} and acknowledges the others, as Envoy answers one that carries a resource it
   * cannot take.
   */
  public static FakeAdsClient deltaRejecting(int xdsPort, Node node, Set<String> rejectedNames) {
    FakeAdsClient client = new FakeAdsClient(xdsPort, node, rejectedNames);
    client.delta =
        AggregatedDiscoveryServiceGrpc.newStub(client.channel)
            .deltaAggregatedResources(client.new DeltaResponses());
    for (String type : List.of(CLUSTERS, LISTENERS)) {
      client.sendDelta(DeltaDiscoveryRequest.newBuilder().setNode(node).setTypeUrl(type).build());
    }
    return client;
  }

  /**
   * A stream that asks for clusters, listeners and every route configuration, and then never reads
   * a response (a hung Envoy, a paused VM, a half-open connection): its HTTP/2 flow-control window
   * fills, and it answers nothing.
   */
  public static FakeAdsClient neverReading(int xdsPort, Node node, boolean delta) {
    FakeAdsClient client = new FakeAdsClient(xdsPort, node, Set.of());
    AggregatedDiscoveryServiceGrpc.AggregatedDiscoveryServiceStub ads =
        AggregatedDiscoveryServiceGrpc.newStub(client.channel);
    if (delta) {
      client.delta = ads.deltaAggregatedResources(new NeverReading<>());
      for (String type : List.of(CLUSTERS, LISTENERS, ROUTES)) {
        client.sendDelta(DeltaDiscoveryRequest.newBuilder().setNode(node).setTypeUrl(type).build());
      }
    } else {
      client.sotw = ads.streamAggregatedResources(new NeverReading<>());
      for (String type : List.of(CLUSTERS, LISTENERS, ROUTES)) {
        client.sendSotw(DiscoveryRequest.newBuilder().setNode(node).setTypeUrl(type).build());
      }
    }
    return client;
  }

  /** Asks for no message, ever. */
  private static final class NeverReading<Q, R>
      implements io.grpc.stub.ClientResponseObserver<Q, R> {
    @Override
    public void beforeStart(io.grpc.stub.ClientCallStreamObserver<Q> requests) {
      requests.disableAutoRequestWithInitial(0);
    }

    @Override
    public void onNext(R response) {
      throw new AssertionError("a never-reading client read a response");
    }

    @Override
    public void onError(Throwable error) {}

    @Override
    public void onCompleted() {}
  }

  /** Versions of the responses received, oldest first. */
  public List<String> receivedVersions() {
    return List.copyOf(receivedVersions);
  }

  @Override
  public void close() {
    channel.shutdownNow();
  }

  private synchronized void sendSotw(DiscoveryRequest request) {
    sotw.onNext(request);
  }

  private synchronized void sendDelta(DeltaDiscoveryRequest request) {
    delta.onNext(request);
  }

  private final class SotwResponses implements StreamObserver<DiscoveryResponse> {
    /** What this client runs, by type: the last version it accepted. */
    private final java.util.Map<String, String> accepted =
        new java.util.concurrent.ConcurrentHashMap<>();

    @Override
    public void onNext(DiscoveryResponse response) {
      receivedVersions.add(response.getVersionInfo());
      DiscoveryRequest.Builder answer =
          DiscoveryRequest.newBuilder()
              .setNode(node)
              .setTypeUrl(response.getTypeUrl())
              .setResponseNonce(response.getNonce());
      if (rejects.contains(response.getTypeUrl())) {
        answer
            .setVersionInfo(accepted.getOrDefault(response.getTypeUrl(), ""))
            .setErrorDetail(
                com.google.rpc.Status.newBuilder()
                    .setCode(3)
                    .setMessage("rejected by the test: " + response.getTypeUrl()));
      } else {
        accepted.put(response.getTypeUrl(), response.getVersionInfo());
        answer.setVersionInfo(response.getVersionInfo());
      }
      sendSotw(answer.build());
    }

    @Override
    public void onError(Throwable error) {}

    @Override
    public void onCompleted() {}
  }

  private final class DeltaResponses implements StreamObserver<DeltaDiscoveryResponse> {
    @Override
    public void onNext(DeltaDiscoveryResponse response) {
      receivedVersions.add(response.getSystemVersionInfo());
      DeltaDiscoveryRequest.Builder answer =
          DeltaDiscoveryRequest.newBuilder()
              .setNode(node)
              .setTypeUrl(response.getTypeUrl())
              .setResponseNonce(response.getNonce());
      response.getResourcesList().stream()
          .map(io.envoyproxy.envoy.service.discovery.v3.Resource::getName)
          .filter(rejects::contains)
          .findFirst()
          .ifPresent(
              name ->
                  answer.setErrorDetail(
                      com.google.rpc.Status.newBuilder()
                          .setCode(3)
                          .setMessage("rejected by the test: " + name)));
      sendDelta(answer.build());
    }

    @Override
    public void onError(Throwable error) {}

    @Override
    public void onCompleted() {}
  }
}
