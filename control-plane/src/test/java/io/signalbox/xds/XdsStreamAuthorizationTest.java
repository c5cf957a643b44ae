package io.signalbox.xds;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.envoyproxy.envoy.config.core.v3.Locality;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.StreamObserver;
import io.signalbox.security.AccessControl;
import io.signalbox.security.AccessPolicy;
import io.signalbox.security.AuditLog;
import io.signalbox.testing.HeaderIdentity;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Which node groups an Envoy may fetch, in front of a stand-in ADS service that records what
 * reached it.
 */
class XdsStreamAuthorizationTest {

  private static final String EDGE_ENVOY = "spiffe://signalbox.local/envoy/edge";
  private static final String SECRET =
      "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret";

  private final List<String> groupsThatReachedTheServer = new CopyOnWriteArrayList<>();
  private final List<Node> nodesThatReachedTheServer = new CopyOnWriteArrayList<>();

  /** What the stand-in's stream observers were told of their stream's end, and how it went. */
  private final List<String> serverToldOfTheEnd = new CopyOnWriteArrayList<>();

  private Server server;
  private ManagedChannel channel;

  /** The fleets' zones ({@code fleet@zone}) whose admitted first request was handled. */
  private final List<String> zonesReleased = new CopyOnWriteArrayList<>();

  /** The zone the control plane takes no more Envoys of (as beyond NodeGroups.MAX_ZONES). */
  private static final String ZONE_NOT_TAKEN = "zone-257";

  private static final String ZONE_REFUSAL =
      "node.locality.zone: zone '" + ZONE_NOT_TAKEN + "' is not taken";

  @BeforeEach
  void start() throws IOException {
    String name = InProcessServerBuilder.generateName();
    server =
        InProcessServerBuilder.forName(name)
            .addService(
                new AggregatedDiscoveryServiceGrpc.AggregatedDiscoveryServiceImplBase() {
                  @Override
                  public StreamObserver<DiscoveryRequest> streamAggregatedResources(
                      StreamObserver<DiscoveryResponse> responses) {
                    return new StreamObserver<>() {
                      @Override
                      public void onNext(DiscoveryRequest request) {
                        groupsThatReachedTheServer.add(request.getNode().getCluster());
                        nodesThatReachedTheServer.add(request.getNode());
                        responses.onNext(
                            DiscoveryResponse.newBuilder()
                                .setTypeUrl(request.getTypeUrl())
                                .build());
                      }

                      @Override
                      public void onError(Throwable t) {
                        // As java-control-plane's stream observer does: cancel the stream's
                        // watches, run the close callbacks, and end the call with the error.
                        try {
                          responses.onError(t);
                          serverToldOfTheEnd.add("ended: " + Status.fromThrowable(t).getCode());
                        } catch (RuntimeException e) {
                          serverToldOfTheEnd.add("threw: " + e);
                        }
                      }

                      @Override
                      public void onCompleted() {
                        responses.onCompleted();
                      }
                    };
                  }
                })
            .intercept(
                new XdsStreamAuthorization(
                    AccessControl.enforcing(() -> AccessPolicy.DEFAULT),
                    AuditLog.toLogger(Clock.systemUTC()),
                    new ZoneAdmission() {
                      @Override
                      public Optional<String> admit(String fleet, String zone) {
                        return zone.equals(ZONE_NOT_TAKEN)
                            ? Optional.of(ZONE_REFUSAL)
                            : Optional.empty();
                      }

                      @Override
                      public void release(String fleet, String zone) {
                        zonesReleased.add(fleet + "@" + zone);
                      }
                    }))
            .intercept(HeaderIdentity.interceptor())
            .build()
            .start();
    channel = InProcessChannelBuilder.forName(name).build();
  }

  @AfterEach
  void stop() {
    channel.shutdownNow();
    server.shutdownNow();
  }

  /**
   * Opens a stream as {@code identity}, sends one request for {@code group}; the status it ended
   * with, if any.
   */
  private AtomicReference<Status> ask(
      String identity, String group, List<DiscoveryResponse> received) {
    return ask(identity, Node.newBuilder().setId("edge-1").setCluster(group).build(), received);
  }

  private AtomicReference<Status> ask(
      String identity, Node node, List<DiscoveryResponse> received) {
    AtomicReference<Status> ended = new AtomicReference<>();
    open(identity, received, ended)
        .onNext(DiscoveryRequest.newBuilder().setTypeUrl(SECRET).setNode(node).build());
    return ended;
  }

  /** An edge Envoy of {@code fleet} declaring {@code zone}. */
  private static Node inZone(String fleet, String zone) {
    return Node.newBuilder()
        .setId("edge-1")
        .setCluster(fleet)
        .setLocality(Locality.newBuilder().setZone(zone))
        .build();
  }

  /**
   * Opens a stream as {@code identity}: its responses go to {@code received}, the status it ends
   * with to {@code ended}.
   */
  private StreamObserver<DiscoveryRequest> open(
      String identity, List<DiscoveryResponse> received, AtomicReference<Status> ended) {
    return HeaderIdentity.as(AggregatedDiscoveryServiceGrpc.newStub(channel), identity)
        .streamAggregatedResources(
            new StreamObserver<>() {
              @Override
              public void onNext(DiscoveryResponse response) {
                received.add(response);
              }

              @Override
              public void onError(Throwable t) {
                ended.set(Status.fromThrowable(t));
              }

              @Override
              public void onCompleted() {
                ended.set(Status.OK);
              }
            });
  }

  @Test
  void anEnvoyMayFetchTheGroupItsCertificateNames() {
    List<DiscoveryResponse> received = new CopyOnWriteArrayList<>();
    ask(EDGE_ENVOY, "edge", received);

    await().atMost(Duration.ofSeconds(5)).until(() -> received.size() == 1);
    assertThat(groupsThatReachedTheServer).containsExactly("edge");
  }

  @Test
  void anEnvoyAskingForAnotherGroupIsRefusedAndNothingReachesTheCache() {
    List<DiscoveryResponse> received = new CopyOnWriteArrayList<>();
    AtomicReference<Status> ended = ask(EDGE_ENVOY, "internal", received);

    await().atMost(Duration.ofSeconds(5)).until(() -> ended.get() != null);
    assertThat(ended.get().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
    assertThat(ended.get().getDescription())
        .isEqualTo(
            "identity '"
                + EDGE_ENVOY
                + "' may not fetch the configuration of node group 'internal'");
    assertThat(received).isEmpty();
    assertThat(groupsThatReachedTheServer).isEmpty();
  }

  @Test
  void aServiceIdentityCannotFetchAnyGroupsSecrets() {
    List<DiscoveryResponse> received = new CopyOnWriteArrayList<>();
    AtomicReference<Status> ended =
        ask("spiffe://signalbox.local/service/orders", "edge", received);

    await().atMost(Duration.ofSeconds(5)).until(() -> ended.get() != null);
    assertThat(ended.get().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
    assertThat(received).isEmpty();
  }

  @Test
  void aNodeNamingAGroupBeyondTheBoundsOfANameIsRefusedNamingTheFieldAndNothingReachesTheCache() {
    Map<Node, String> refused =
        Map.of(
            node("edge", "z".repeat(64)),
            "node.locality.zone",
            node("edge", "eu west"),
            "node.locality.zone",
            node("e".repeat(129), ""),
            "node.cluster",
            node("edge\ngateway", ""),
            "node.cluster",
            sidecarOf("Orders!"),
            "node.metadata[\"signalbox.service\"]",
            node("edge/../internal", ""),
            "node.cluster",
            sidecarOf("").toBuilder().setCluster("Orders%2F..").build(),
            "node.cluster (a sidecar that names no node.metadata[\"signalbox.service\"])");
    refused.forEach(
        (node, field) -> {
          List<DiscoveryResponse> received = new CopyOnWriteArrayList<>();
          AtomicReference<Status> ended = ask(EDGE_ENVOY, node, received);

          await().atMost(Duration.ofSeconds(5)).until(() -> ended.get() != null);
          assertThat(ended.get().getCode()).as(field).isEqualTo(Status.Code.INVALID_ARGUMENT);
          assertThat(ended.get().getDescription()).startsWith(field + " must be");
          assertThat(received).isEmpty();
        });
    assertThat(groupsThatReachedTheServer).isEmpty();

    // The longest zone and fleet a name may have pass to the authorization.
    List<DiscoveryResponse> received = new CopyOnWriteArrayList<>();
    ask(EDGE_ENVOY, node("edge", "z".repeat(63)), received);
    await().atMost(Duration.ofSeconds(5)).until(() -> received.size() == 1);
  }

  private static Node node(String cluster, String zone) {
    return Node.newBuilder()
        .setId("edge-1")
        .setCluster(cluster)
        .setLocality(Locality.newBuilder().setZone(zone))
        .build();
  }

  private static Node sidecarOf(String service) {
    return Node.newBuilder()
        .setId("sidecar-1")
        .setCluster("orders")
        .setMetadata(
            com.google.protobuf.Struct.newBuilder()
                .putFields(
                    NodeGroups.ROLE_KEY,
                    com.google.protobuf.Value.newBuilder()
                        .setStringValue(NodeGroups.SIDECAR_ROLE)
                        .build())
                .putFields(
                    NodeGroups.SERVICE_KEY,
                    com.google.protobuf.Value.newBuilder().setStringValue(service).build()))
        .build();
  }

  @Test
  void aStreamRefusedAfterItsFirstRequestIsEndedForTheServerBehindToo() {
    List<DiscoveryResponse> received = new CopyOnWriteArrayList<>();
    AtomicReference<Status> ended = new AtomicReference<>();
    StreamObserver<DiscoveryRequest> requests = open(EDGE_ENVOY, received, ended);
    requests.onNext(
        DiscoveryRequest.newBuilder().setTypeUrl(SECRET).setNode(node("edge", "")).build());
    await().atMost(Duration.ofSeconds(5)).until(() -> received.size() == 1);

    requests.onNext(
        DiscoveryRequest.newBuilder().setTypeUrl(SECRET).setNode(node("edge", "a b")).build());

    await().atMost(Duration.ofSeconds(5)).until(() -> ended.get() != null);
    assertThat(ended.get().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    await()
        .atMost(Duration.ofSeconds(5))
        .untilAsserted(
            () ->
                assertThat(serverToldOfTheEnd)
                    .as("the server's stream observer is told, and ends the call without a throw")
                    .containsExactly("ended: CANCELLED"));
    assertThat(groupsThatReachedTheServer).containsExactly("edge");
  }

  @Test
  void anEnvoyInAZoneIsAuthorizedByItsFleet() {
    List<DiscoveryResponse> received = new CopyOnWriteArrayList<>();
    Node inZone = inZone("edge", "eu-west-1a");
    ask(EDGE_ENVOY, inZone, received);

    await().atMost(Duration.ofSeconds(5)).until(() -> received.size() == 1);
    assertThat(new NodeGroups().hash(inZone)).isEqualTo("edge@eu-west-1a");
    assertThat(zonesReleased)
        .as("once its first request was handled")
        .containsExactly("edge@eu-west-1a");
  }

  @Test
  void anEnvoyInAZoneNotAdmittedIsRefusedNamingTheFieldAndNothingReachesTheCache() {
    List<DiscoveryResponse> received = new CopyOnWriteArrayList<>();
    Node inZone = inZone("edge", ZONE_NOT_TAKEN);
    AtomicReference<Status> ended = ask(EDGE_ENVOY, inZone, received);

    await().atMost(Duration.ofSeconds(5)).until(() -> ended.get() != null);
    assertThat(ended.get().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
    assertThat(ended.get().getDescription()).isEqualTo(ZONE_REFUSAL);
    assertThat(groupsThatReachedTheServer).isEmpty();
    assertThat(received).isEmpty();
  }

  @Test
  void anEnvoyAskingForAnotherFleetLearnsNothingOfTheZones() {
    List<DiscoveryResponse> received = new CopyOnWriteArrayList<>();
    Node elsewhere = inZone("internal", ZONE_NOT_TAKEN);
    AtomicReference<Status> ended = ask(EDGE_ENVOY, elsewhere, received);

    await().atMost(Duration.ofSeconds(5)).until(() -> ended.get() != null);
    assertThat(ended.get().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
    assertThat(groupsThatReachedTheServer).isEmpty();
  }

  @Test
  void aFleetNameCannotPoseAsAnotherFleetInAZone() {
    List<DiscoveryResponse> received = new CopyOnWriteArrayList<>();
    AtomicReference<Status> ended = ask(EDGE_ENVOY, "internal@edge", received);

    await().atMost(Duration.ofSeconds(5)).until(() -> ended.get() != null);
    assertThat(ended.get().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
    assertThat(ended.get().getDescription()).endsWith("node group 'internal'");
    assertThat(groupsThatReachedTheServer).isEmpty();
  }

  @Test
  void aLaterRequestWithoutANodeIsServedAsTheStreamsFirstNode() {
    List<DiscoveryResponse> received = new CopyOnWriteArrayList<>();
    AtomicReference<Status> ended = new AtomicReference<>();
    StreamObserver<DiscoveryRequest> requests = open(EDGE_ENVOY, received, ended);
    requests.onNext(
        DiscoveryRequest.newBuilder().setTypeUrl(SECRET).setNode(node("edge", "")).build());
    // As Envoy sends it with set_node_on_first_message_only: the node only in the first request.
    requests.onNext(DiscoveryRequest.newBuilder().setTypeUrl(SECRET).build());

    await().atMost(Duration.ofSeconds(5)).until(() -> received.size() == 2);
    assertThat(ended.get()).as("the edge identity may not fetch the default group").isNull();
    assertThat(groupsThatReachedTheServer).containsExactly("edge", "edge");
  }

  @Test
  void theExtensionsEnvoyListsInItsNodeAreNeitherPassedOnNorKept() {
    Node listingExtensions =
        node("edge", "").toBuilder()
            .setUserAgentName("envoy")
            .addExtensions(
                io.envoyproxy.envoy.config.core.v3.Extension.newBuilder()
                    .setName("envoy.filters.http.router")
                    .setCategory("envoy.filters.http"))
            .addExtensions(
                io.envoyproxy.envoy.config.core.v3.Extension.newBuilder()
                    .setName("envoy.filters.http.jwt_authn")
                    .setCategory("envoy.filters.http"))
            .build();
    Node asKept = listingExtensions.toBuilder().clearExtensions().build();
    List<DiscoveryResponse> received = new CopyOnWriteArrayList<>();
    AtomicReference<Status> ended = new AtomicReference<>();
    StreamObserver<DiscoveryRequest> requests = open(EDGE_ENVOY, received, ended);
    requests.onNext(
        DiscoveryRequest.newBuilder().setTypeUrl(SECRET).setNode(listingExtensions).build());
    // Envoy's default: the node in every request; and without it, as Signalbox's bootstraps have
    // it.
    requests.onNext(
        DiscoveryRequest.newBuilder().setTypeUrl(SECRET).setNode(listingExtensions).build());
    requests.onNext(DiscoveryRequest.newBuilder().setTypeUrl(SECRET).build());

    await().atMost(Duration.ofSeconds(5)).until(() -> received.size() == 3);
    assertThat(ended.get()).isNull();
    assertThat(nodesThatReachedTheServer).containsExactly(asKept, asKept, asKept);
    assertThat(asKept.getUserAgentName()).isEqualTo("envoy");
  }

  @Test
  void aLaterRequestNamingAnotherNodeOrGroupEndsTheStream() {
    Map<Node, String> moves =
        Map.of(
            node("edge", "eu-west-1a"), "another zone",
            node("edge", "").toBuilder().setId("edge-2").build(), "another node id");
    moves.forEach(
        (moved, what) -> {
          List<DiscoveryResponse> received = new CopyOnWriteArrayList<>();
          AtomicReference<Status> ended = new AtomicReference<>();
          StreamObserver<DiscoveryRequest> requests = open(EDGE_ENVOY, received, ended);
          requests.onNext(
              DiscoveryRequest.newBuilder().setTypeUrl(SECRET).setNode(node("edge", "")).build());
          requests.onNext(DiscoveryRequest.newBuilder().setTypeUrl(SECRET).setNode(moved).build());

          await().atMost(Duration.ofSeconds(5)).until(() -> ended.get() != null);
          assertThat(ended.get().getCode()).as(what).isEqualTo(Status.Code.INVALID_ARGUMENT);
          assertThat(ended.get().getDescription())
              .as(what)
              .isEqualTo(
                  "node must name the same node id and group in every request of a stream (its"
                      + " first named node group 'edge')");
          assertThat(received).as(what).hasSize(1);
        });
    assertThat(groupsThatReachedTheServer).containsExactly("edge", "edge");
  }
}
