package io.signalbox.xds;

import static org.assertj.core.api.Assertions.assertThat;

import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.controlplane.server.DiscoveryServerCallbacks;
import io.envoyproxy.controlplane.server.serializer.DefaultProtoResourcesSerializer;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc.AggregatedDiscoveryServiceImplBase;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.Resource;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.StreamObserver;
import io.signalbox.translate.XdsResources;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Delta ADS streams as Envoy sees them, over gRPC (in process). */
class DeltaAdsServerTest {

  private static final String GROUP = "edge";
  private static final String CDS = Resources.V3.CLUSTER_TYPE_URL;
  private static final String EDS = Resources.V3.ENDPOINT_TYPE_URL;
  private static final Node NODE = Node.newBuilder().setId("envoy-1").setCluster(GROUP).build();

  private final XdsSnapshotCache cache = new XdsSnapshotCache(node -> GROUP);
  private final List<Long> closedStreams = new CopyOnWriteArrayList<>();
  private final Server server;
  private final ManagedChannel channel;

  DeltaAdsServerTest() throws IOException {
    DiscoveryServerCallbacks callbacks =
        new DiscoveryServerCallbacks() {
          @Override
          public void onV3StreamRequest(long streamId, DiscoveryRequest request) {}

          @Override
          public void onV3StreamDeltaRequest(long streamId, DeltaDiscoveryRequest request) {}

          @Override
          public void onStreamCloseWithError(long streamId, String typeUrl, Throwable error) {
            closedStreams.add(streamId);
          }
        };
    DeltaAdsServer delta =
        new DeltaAdsServer(
            List.of(callbacks), cache, new DefaultProtoResourcesSerializer(), cache, node -> GROUP);
    String name = InProcessServerBuilder.generateName();
    server =
        InProcessServerBuilder.forName(name)
            .directExecutor()
            .addService(
                delta.aggregatedDiscoveryService(new AggregatedDiscoveryServiceImplBase() {}))
            .build()
            .start();
    channel = InProcessChannelBuilder.forName(name).directExecutor().build();
  }

  @AfterEach
  void stop() throws InterruptedException {
    channel.shutdownNow();
    server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
  }

  @Test
  void aStreamIsSentEveryResourceThenOnlyWhatChangesAndWhatGoes() throws Exception {
    cache.setSnapshot(GROUP, snapshot("a", "b"));
    Stream stream = new Stream();

    stream.send(request(CDS).build());
    DeltaDiscoveryResponse first = stream.next();
    assertThat(names(first)).containsExactlyInAnyOrder("a", "b");
    stream.send(request(CDS).setResponseNonce(first.getNonce()).build());

    cache.setSnapshot(GROUP, snapshot("a", "c"));
    DeltaDiscoveryResponse change = stream.next();
    assertThat(names(change)).containsExactly("c");
    assertThat(change.getRemovedResourcesList()).containsExactly("b");
    stream.send(request(CDS).setResponseNonce(change.getNonce()).build());

    cache.setSnapshot(GROUP, snapshot("c"));
    DeltaDiscoveryResponse removal = stream.next();
    assertThat(removal.getResourcesList()).isEmpty();
    assertThat(removal.getRemovedResourcesList()).containsExactly("a");
  }

  @Test
  void anEnvoySubscribedToEveryAssignmentIsThenSentOnlyTheAssignmentsThatChangeAndThoseThatGo()
      throws Exception {
    // Envoy's first EDS request names every cluster it was sent: the stream is answered with the
    // snapshot's own map and, once acknowledged, holds exactly that snapshot.
    cache.setSnapshot(GROUP, snapshot("a", "b", "c"));
    Stream stream = new Stream();
    stream.send(request(EDS).addAllResourceNamesSubscribe(List.of("a", "b", "c")).build());
    DeltaDiscoveryResponse first = stream.next();
    assertThat(names(first)).containsExactlyInAnyOrder("a", "b", "c");
    stream.send(request(EDS).setResponseNonce(first.getNonce()).build());

    cache.setSnapshot(GROUP, withChangedAssignment("a", "a", "c"));
    DeltaDiscoveryResponse change = stream.next();
    assertThat(names(change)).containsExactly("a");
    assertThat(change.getRemovedResourcesList()).containsExactly("b");
  }

  @Test
  void aStreamOpenedBeforeItsGroupsFirstSnapshotIsSentItWholeAndThenOnlyWhatChanges()
      throws Exception {
    Stream stream = new Stream();
    stream.send(request(CDS).build());
    assertThat(stream.received.poll(200, TimeUnit.MILLISECONDS)).as("nothing to send yet").isNull();

    cache.setSnapshot(GROUP, snapshot("a", "b"));
    DeltaDiscoveryResponse first = stream.next();
    assertThat(names(first)).containsExactlyInAnyOrder("a", "b");
    stream.send(request(CDS).setResponseNonce(first.getNonce()).build());

    cache.setSnapshot(GROUP, withChangedCluster("b", "b", "c"));
    DeltaDiscoveryResponse change = stream.next();
    assertThat(names(change)).containsExactlyInAnyOrder("b", "c");
    assertThat(change.getRemovedResourcesList()).containsExactly("a");
  }

  @Test
  void whatEnvoyAppliedOfARejectedResponseIsHeldSoItsRemovalIsSent() throws Exception {
    cache.setSnapshot(GROUP, snapshot("a"));
    Stream stream = new Stream();
    stream.send(request(CDS).build());
    DeltaDiscoveryResponse first = stream.next();
    stream.send(request(CDS).setResponseNonce(first.getNonce()).build());

    cache.setSnapshot(GROUP, snapshot("a", "bad"));
    DeltaDiscoveryResponse rejected = stream.next();
    assertThat(names(rejected)).containsExactly("bad");
    stream.send(
        request(CDS)
            .setResponseNonce(rejected.getNonce())
            .setErrorDetail(com.google.rpc.Status.newBuilder().setMessage("no").build())
            .build());

    cache.setSnapshot(GROUP, snapshot("a", "c"));
    DeltaDiscoveryResponse next = stream.next();
    assertThat(names(next)).containsExactly("c");
    assertThat(next.getRemovedResourcesList()).containsExactly("bad");
  }

  @Test
  void aResourceRejectedByNameIsNotSentAgainAtOnceButWithTheNextSnapshotThatChangesItsType()
      throws Exception {
    cache.setSnapshot(GROUP, snapshot("a", "b"));
    Stream stream = new Stream();
    stream.send(request(EDS).addResourceNamesSubscribe("a").addResourceNamesSubscribe("b").build());
    DeltaDiscoveryResponse rejected = stream.next();
    assertThat(names(rejected)).containsExactlyInAnyOrder("a", "b");

    stream.send(reject(EDS, rejected));
    assertThat(stream.received.poll(300, TimeUnit.MILLISECONDS))
        .as("the same assignments again, to an Envoy that rejects them each time")
        .isNull();

    // A quarantine trial, or a publication made before the rejection was judged: b goes, a stays
    // as it was. The snapshot is judged by what the Envoy makes of a, so a is sent with it
    // although it did not change.
    cache.setSnapshot(GROUP, snapshot("a"));
    DeltaDiscoveryResponse trial = stream.next();
    assertThat(names(trial)).containsExactly("a");
    assertThat(trial.getRemovedResourcesList()).as("b was held as rejected").containsExactly("b");
    stream.send(request(EDS).setResponseNonce(trial.getNonce()).build());

    cache.setSnapshot(GROUP, snapshot("a", "c"));
    stream.send(request(EDS).addResourceNamesSubscribe("c").build());
    assertThat(names(stream.next())).as("a was sent since, and accepted").containsExactly("c");
  }

  @Test
  void aRejectedResourceTheLastGoodConfigurationHoldsAsItIsIsNotSentAgain() throws Exception {
    // An Envoy that rejects what the last good configuration holds too (a listener on a port its
    // host cannot bind) would otherwise reject every later change of the type, and the quarantine
    // blame the service that made it.
    cache.setSnapshot(GROUP, snapshot("a"));
    cache.setLastGood(group -> snapshot("a"));
    Stream stream = new Stream();
    stream.send(request(CDS).build());
    stream.send(reject(CDS, stream.next()));

    cache.setSnapshot(GROUP, snapshot("a", "b"));
    assertThat(names(stream.next())).containsExactly("b");
  }

  @Test
  void aRejectedResourceTheLastGoodConfigurationHoldsOtherwiseIsSentAgain() throws Exception {
    cache.setSnapshot(GROUP, withChangedCluster("a", "a"));
    cache.setLastGood(group -> snapshot("a"));
    Stream stream = new Stream();
    stream.send(request(CDS).build());
    stream.send(reject(CDS, stream.next()));

    cache.setSnapshot(GROUP, withChangedCluster("a", "a", "b"));
    assertThat(names(stream.next())).containsExactlyInAnyOrder("a", "b");
  }

  @Test
  void aResourceRejectedByNameRidesWithTheAnswerToTheNextRequestForNamesOfItsType()
      throws Exception {
    cache.setSnapshot(GROUP, snapshot("a", "b"));
    Stream stream = new Stream();
    stream.send(request(EDS).addResourceNamesSubscribe("a").build());
    stream.send(reject(EDS, stream.next()));

    stream.send(request(EDS).addResourceNamesSubscribe("b").build());
    assertThat(names(stream.next()))
        .as("the Envoy's answer covers the rejected one too")
        .containsExactlyInAnyOrder("a", "b");
  }

  @Test
  void aRejectionIsNotSentAgainForANameSubscribedToThatNoSnapshotHolds() throws Exception {
    cache.setSnapshot(GROUP, snapshot("a"));
    Stream stream = new Stream();
    stream.send(
        request(EDS).addResourceNamesSubscribe("a").addResourceNamesSubscribe("ghost").build());
    DeltaDiscoveryResponse rejected = stream.next();
    assertThat(names(rejected)).containsExactly("a");

    stream.send(reject(EDS, rejected));
    assertThat(stream.received.poll(300, TimeUnit.MILLISECONDS))
        .as("ghost stays pending, and a must not ride with an answer that has nothing else")
        .isNull();
  }

  @Test
  void aRejectionAnsweredAfterTheNextSnapshotIsSentWithIt() throws Exception {
    cache.setSnapshot(GROUP, snapshot("a", "b"));
    Stream stream = new Stream();
    stream.send(request(EDS).addResourceNamesSubscribe("a").addResourceNamesSubscribe("b").build());
    DeltaDiscoveryResponse rejected = stream.next();

    // The next snapshot is set while the response is on its way: the watch opened on the NACK
    // answers it.
    cache.setSnapshot(GROUP, snapshot("a"));
    stream.send(reject(EDS, rejected));
    DeltaDiscoveryResponse trial = stream.next();
    assertThat(names(trial)).containsExactly("a");
    assertThat(trial.getRemovedResourcesList()).containsExactly("b");
  }

  @Test
  void aRejectedNameUnsubscribedFromIsNotSentAgain() throws Exception {
    cache.setSnapshot(GROUP, snapshot("a", "b"));
    Stream stream = new Stream();
    stream.send(request(EDS).addResourceNamesSubscribe("a").addResourceNamesSubscribe("b").build());
    stream.send(reject(EDS, stream.next()));
    stream.send(request(EDS).addResourceNamesUnsubscribe("a").build());

    cache.setSnapshot(GROUP, snapshot("a", "b", "c"));
    assertThat(names(stream.next()))
        .as("b rides with the snapshot; a is no longer subscribed to, and c never was")
        .containsExactly("b");
  }

  @Test
  void aRejectedClusterIsSentAgainWithTheNextSnapshotThatChangesClustersThoughItDidNot()
      throws Exception {
    cache.setSnapshot(GROUP, snapshot("a"));
    Stream stream = new Stream();
    stream.send(request(CDS).build());
    stream.send(request(CDS).setResponseNonce(stream.next().getNonce()).build());
    cache.setSnapshot(GROUP, snapshot("a", "bad", "b"));
    stream.send(reject(CDS, stream.next()));

    cache.setSnapshot(GROUP, snapshot("a", "bad"));
    DeltaDiscoveryResponse trial = stream.next();
    assertThat(names(trial)).containsExactly("bad");
    assertThat(trial.getRemovedResourcesList()).containsExactly("b");
  }

  @Test
  void aRejectedClusterSentAgainUnchangedIsNotFollowedByItsAssignment() throws Exception {
    cache.setSnapshot(GROUP, snapshot("a", "b"));
    Stream stream = new Stream();
    stream.send(
        request(EDS).setResponseNonce(endpointsOnTheirWay(stream, "a", "b").getNonce()).build());

    cache.setSnapshot(GROUP, withChangedCluster("b", "a", "b"));
    DeltaDiscoveryResponse rejected = stream.next();
    assertThat(names(rejected)).containsExactly("b");
    DeltaDiscoveryResponse assignment = stream.next();
    assertThat(assignment.getTypeUrl()).as("for the remade b to warm").isEqualTo(EDS);
    stream.send(reject(CDS, rejected));
    stream.send(request(EDS).setResponseNonce(assignment.getNonce()).build());

    cache.setSnapshot(GROUP, withChangedCluster("b", "a", "b", "c"));
    DeltaDiscoveryResponse trial = stream.next();
    assertThat(names(trial)).containsExactlyInAnyOrder("b", "c");
    assertThat(stream.received.poll(300, TimeUnit.MILLISECONDS))
        .as("Envoy does not make an unchanged cluster anew: no assignment to warm it")
        .isNull();
  }

  @Test
  void aClusterRemadeWhileItsAssignmentIsOnItsWayIsSentItsAssignmentAgainAfterARejection()
      throws Exception {
    cache.setSnapshot(GROUP, snapshot("a", "b"));
    // The assignments are as the last good configuration holds them: they do not ride with
    // answers as rejected ones, so only the resend of the remade cluster's sends b's.
    cache.setLastGood(group -> snapshot("a", "b"));
    Stream stream = new Stream();
    DeltaDiscoveryResponse endpoints = endpointsOnTheirWay(stream, "a", "b");

    cache.setSnapshot(GROUP, withChangedCluster("b", "a", "b"));
    DeltaDiscoveryResponse changed = stream.next();
    assertThat(changed.getTypeUrl()).isEqualTo(CDS);
    stream.send(request(CDS).setResponseNonce(changed.getNonce()).build());
    stream.send(reject(EDS, endpoints));

    DeltaDiscoveryResponse again = stream.next();
    assertThat(again.getTypeUrl()).isEqualTo(EDS);
    assertThat(names(again)).as("for the remade b to warm").contains("b");
  }

  @Test
  void aChangedClusterAcknowledgedBeforeItsResponseIsDoneBeingSentIsStillFollowedByItsAssignment()
      throws Exception {
    cache.setSnapshot(GROUP, snapshot("a", "b"));
    BlockingQueue<DeltaDiscoveryResponse> received = new LinkedBlockingQueue<>();
    AtomicReference<StreamObserver<DeltaDiscoveryRequest>> requests = new AtomicReference<>();
    // Acknowledges each response from inside its delivery, as a fast Envoy can, before the server
    // has returned from sending it.
    requests.set(
        AggregatedDiscoveryServiceGrpc.newStub(channel)
            .deltaAggregatedResources(
                new StreamObserver<>() {
                  @Override
                  public void onNext(DeltaDiscoveryResponse response) {
                    received.add(response);
                    requests
                        .get()
                        .onNext(
                            request(response.getTypeUrl())
                                .setResponseNonce(response.getNonce())
                                .build());
                  }

                  @Override
                  public void onError(Throwable error) {}

                  @Override
                  public void onCompleted() {}
                }));
    requests.get().onNext(request(CDS).build());
    requests
        .get()
        .onNext(request(EDS).addResourceNamesSubscribe("a").addResourceNamesSubscribe("b").build());
    Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> received.size() == 2);
    received.clear();

    cache.setSnapshot(GROUP, withChangedCluster("b", "a", "b"));
    DeltaDiscoveryResponse changed = received.poll(5, TimeUnit.SECONDS);
    assertThat(names(changed)).containsExactly("b");
    DeltaDiscoveryResponse again = received.poll(5, TimeUnit.SECONDS);
    assertThat(again).as("b's assignment, for the remade b to warm").isNotNull();
    assertThat(again.getTypeUrl()).isEqualTo(EDS);
    assertThat(names(again)).containsExactly("b");
  }

  /** {@link #snapshot}, with {@code changed}'s assignment changed. */
  private static ContentVersionedSnapshot withChangedAssignment(String changed, String... names) {
    XdsResources resources = snapshot(names).resources();
    return ContentVersionedSnapshot.of(
        new XdsResources(
            List.of(),
            List.of(),
            resources.clusters(),
            resources.endpoints().stream()
                .map(
                    assignment ->
                        assignment.getClusterName().equals(changed)
                            ? assignment.toBuilder()
                                .setPolicy(
                                    ClusterLoadAssignment.Policy.newBuilder()
                                        .setOverprovisioningFactor(
                                            com.google.protobuf.UInt32Value.of(200)))
                                .build()
                            : assignment)
                .toList(),
            List.of()));
  }

  /** {@link #snapshot}, with {@code changed}'s cluster changed. */
  private static ContentVersionedSnapshot withChangedCluster(String changed, String... names) {
    XdsResources resources = snapshot(names).resources();
    return ContentVersionedSnapshot.of(
        new XdsResources(
            List.of(),
            List.of(),
            resources.clusters().stream()
                .map(
                    cluster ->
                        cluster.getName().equals(changed)
                            ? cluster.toBuilder().setAltStatName("changed").build()
                            : cluster)
                .toList(),
            resources.endpoints(),
            List.of()));
  }

  @Test
  void aNameUnsubscribedInTheAcknowledgementOfTheResponseThatCarriedItIsNotHeld() throws Exception {
    cache.setSnapshot(GROUP, snapshot("a", "b"));
    Stream stream = new Stream();
    stream.send(request(EDS).addResourceNamesSubscribe("a").addResourceNamesSubscribe("b").build());
    DeltaDiscoveryResponse first = stream.next();
    assertThat(names(first)).containsExactlyInAnyOrder("a", "b");

    stream.send(
        request(EDS).setResponseNonce(first.getNonce()).addResourceNamesUnsubscribe("b").build());
    cache.setSnapshot(GROUP, snapshot("a"));
    cache.setSnapshot(GROUP, snapshot("a", "c"));
    stream.send(request(EDS).addResourceNamesSubscribe("c").build());

    DeltaDiscoveryResponse next = stream.next();
    assertThat(names(next)).containsExactly("c");
    assertThat(next.getRemovedResourcesList()).as("b was not held").isEmpty();
  }

  @Test
  void aChangedClusterIsFollowedByItsUnchangedAssignmentForItsNewSelfToWarm() throws Exception {
    cache.setSnapshot(GROUP, snapshot("a", "b"));
    Stream stream = new Stream();
    DeltaDiscoveryResponse endpoints = endpointsOnTheirWay(stream, "a", "b");
    assertThat(endpoints.getTypeUrl()).isEqualTo(EDS);
    stream.send(request(EDS).setResponseNonce(endpoints.getNonce()).build());

    cache.setSnapshot(
        GROUP,
        ContentVersionedSnapshot.of(
            new XdsResources(
                List.of(),
                List.of(),
                List.of(
                    Cluster.newBuilder().setName("a").setType(Cluster.DiscoveryType.EDS).build(),
                    Cluster.newBuilder()
                        .setName("b")
                        .setType(Cluster.DiscoveryType.EDS)
                        .setAltStatName("changed")
                        .build()),
                snapshot("a", "b").resources().endpoints(),
                List.of())));

    DeltaDiscoveryResponse changed = stream.next();
    assertThat(changed.getTypeUrl()).isEqualTo(CDS);
    assertThat(names(changed)).containsExactly("b");
    DeltaDiscoveryResponse again = stream.next();
    assertThat(again.getTypeUrl()).isEqualTo(EDS);
    assertThat(names(again)).containsExactly("b");
  }

  @Test
  void aClusterRemadeWhileItsAssignmentIsOnItsWayIsSentItsAssignmentAgainAfterTheAnswer()
      throws Exception {
    cache.setSnapshot(GROUP, snapshot("a", "b"));
    Stream stream = new Stream();
    DeltaDiscoveryResponse endpoints = endpointsOnTheirWay(stream, "a", "b");
    assertThat(endpoints.getTypeUrl()).isEqualTo(EDS);

    // Cluster b changes before the Envoy answers the assignments.
    cache.setSnapshot(
        GROUP,
        ContentVersionedSnapshot.of(
            new XdsResources(
                List.of(),
                List.of(),
                List.of(
                    Cluster.newBuilder().setName("a").setType(Cluster.DiscoveryType.EDS).build(),
                    Cluster.newBuilder()
                        .setName("b")
                        .setType(Cluster.DiscoveryType.EDS)
                        .setAltStatName("changed")
                        .build()),
                snapshot("a", "b").resources().endpoints(),
                List.of())));
    DeltaDiscoveryResponse changed = stream.next();
    assertThat(changed.getTypeUrl()).isEqualTo(CDS);
    stream.send(request(CDS).setResponseNonce(changed.getNonce()).build());
    stream.send(request(EDS).setResponseNonce(endpoints.getNonce()).build());

    DeltaDiscoveryResponse again = stream.next();
    assertThat(again.getTypeUrl()).isEqualTo(EDS);
    assertThat(names(again)).as("for the remade b to warm").containsExactly("b");
  }

  @Test
  void onlyAResponseReadCanBeAnsweredSoAClientThatDoesNotReadIsSentNoMore() throws Exception {
    cache.setSnapshot(GROUP, snapshot("a", "b"));
    Stream stream = new Stream();
    stream.send(request(EDS).addResourceNamesSubscribe("a").build());
    DeltaDiscoveryResponse first = stream.next();

    // A client that guesses the nonce of a response it has not read, as a counter would give it.
    stream.send(request(EDS).setResponseNonce("0").addResourceNamesSubscribe("b").build());
    stream.send(request(EDS).setResponseNonce("1").build());

    assertThat(stream.received.poll(300, TimeUnit.MILLISECONDS))
        .as("nothing more while the response sent is not answered")
        .isNull();
    stream.send(request(EDS).setResponseNonce(first.getNonce()).build());
    assertThat(names(stream.next())).containsExactly("b");
  }

  @Test
  void aRequestWithoutATypeEndsTheStreamSayingSo() throws Exception {
    cache.setSnapshot(GROUP, snapshot("a"));
    Stream stream = new Stream();

    stream.send(DeltaDiscoveryRequest.newBuilder().setNode(NODE).build());

    Status status = stream.closedWith();
    assertThat(status.getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(status.getDescription()).contains("type_url");
  }

  @Test
  void aStreamWaitingForFarMoreNamesThanTheConfigurationHoldsIsEnded() throws Exception {
    cache.setSnapshot(GROUP, snapshot("a", "b"));
    Stream stream = new Stream();
    DeltaDiscoveryRequest.Builder many = request(EDS);
    for (int i = 0;
        i < DeltaAdsStream.NAMES_ALWAYS_ALLOWED + DeltaAdsStream.MAX_NAMES_NOT_HELD - 2;
        i++) {
      many.addResourceNamesSubscribe("nosuch-" + i);
    }
    stream.send(many.addResourceNamesSubscribe("a").addResourceNamesSubscribe("b").build());
    assertThat(names(stream.next())).as("all it may ask for").containsExactlyInAnyOrder("a", "b");

    stream.send(request(EDS).addResourceNamesSubscribe("one-more").build());

    Status status = stream.closedWith();
    assertThat(status.getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
    assertThat(status.getDescription())
        .isEqualTo(
            "resource_names_subscribe: the stream waits for more than 101000 endpoint names, 1000"
                + " more than the configuration holds or 100000, the most a stream may");
  }

  @Test
  void theNamesAStreamSaysItHoldsCountTowardsTheNamesItMayWaitFor() throws Exception {
    cache.setSnapshot(GROUP, snapshot("a"));
    Stream stream = new Stream();
    DeltaDiscoveryRequest.Builder resumed = request(EDS);
    for (int i = 0;
        i <= DeltaAdsStream.NAMES_ALWAYS_ALLOWED + DeltaAdsStream.MAX_NAMES_NOT_HELD;
        i++) {
      resumed.putInitialResourceVersions("nosuch-" + i, "v1");
    }

    stream.send(resumed.build());

    assertThat(stream.closedWith().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
  }

  @Test
  void aTypeSignalboxDoesNotServeEndsTheStreamNamingIt() throws Exception {
    cache.setSnapshot(GROUP, snapshot("a"));
    Stream stream = new Stream();

    stream.send(request("type.googleapis.com/envoy.config.route.v3.VirtualHost").build());

    Status status = stream.closedWith();
    assertThat(status.getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(status.getDescription()).contains("envoy.config.route.v3.VirtualHost");
  }

  @Test
  void streamsAreNumberedApartFromStateOfTheWorldOnes() throws Exception {
    cache.setSnapshot(GROUP, snapshot("a"));
    Stream stream = new Stream();
    stream.send(DeltaDiscoveryRequest.newBuilder().setNode(NODE).build());
    stream.closedWith();

    Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> !closedStreams.isEmpty());
    assertThat(closedStreams.get(0)).isGreaterThanOrEqualTo(DeltaAdsServer.FIRST_STREAM_ID);
  }

  private static DeltaDiscoveryRequest.Builder request(String typeUrl) {
    return DeltaDiscoveryRequest.newBuilder().setNode(NODE).setTypeUrl(typeUrl);
  }

  /**
   * Has {@code stream} hold the clusters of {@code names} and subscribe to their assignments;
   * returns the response carrying the assignments, not answered yet.
   */
  private static DeltaDiscoveryResponse endpointsOnTheirWay(Stream stream, String... names)
      throws InterruptedException {
    stream.send(request(CDS).build());
    DeltaDiscoveryResponse clusters = stream.next();
    stream.send(request(EDS).addAllResourceNamesSubscribe(List.of(names)).build());
    stream.send(request(CDS).setResponseNonce(clusters.getNonce()).build());
    DeltaDiscoveryResponse endpoints = stream.next();
    assertThat(endpoints.getTypeUrl()).isEqualTo(EDS);
    return endpoints;
  }

  /** Envoy's answer rejecting {@code response}. */
  private static DeltaDiscoveryRequest reject(String typeUrl, DeltaDiscoveryResponse response) {
    return request(typeUrl)
        .setResponseNonce(response.getNonce())
        .setErrorDetail(com.google.rpc.Status.newBuilder().setMessage("no").build())
        .build();
  }

  private static List<String> names(DeltaDiscoveryResponse response) {
    return response.getResourcesList().stream().map(Resource::getName).toList();
  }

  /** A cluster and an empty assignment per name. */
  private static ContentVersionedSnapshot snapshot(String... names) {
    List<Cluster> clusters = new ArrayList<>();
    List<ClusterLoadAssignment> assignments = new ArrayList<>();
    for (String name : names) {
      clusters.add(Cluster.newBuilder().setName(name).setType(Cluster.DiscoveryType.EDS).build());
      assignments.add(ClusterLoadAssignment.newBuilder().setClusterName(name).build());
    }
    return ContentVersionedSnapshot.of(
        new XdsResources(List.of(), List.of(), clusters, assignments, List.of()));
  }

  /** One client stream: what it receives, and how it ended. */
  private final class Stream {
    final BlockingQueue<DeltaDiscoveryResponse> received = new LinkedBlockingQueue<>();
    final AtomicReference<Status> closed = new AtomicReference<>();
    final StreamObserver<DeltaDiscoveryRequest> requests;

    Stream() {
      requests =
          AggregatedDiscoveryServiceGrpc.newStub(channel)
              .deltaAggregatedResources(
                  new StreamObserver<>() {
                    @Override
                    public void onNext(DeltaDiscoveryResponse response) {
                      received.add(response);
                    }

                    @Override
                    public void onError(Throwable error) {
                      closed.set(Status.fromThrowable(error));
                    }

                    @Override
                    public void onCompleted() {
                      closed.set(Status.OK);
                    }
                  });
    }

    void send(DeltaDiscoveryRequest request) {
      requests.onNext(request);
    }

    DeltaDiscoveryResponse next() throws InterruptedException {
      DeltaDiscoveryResponse response = received.poll(5, TimeUnit.SECONDS);
      assertThat(response).as("a response").isNotNull();
      return response;
    }

    Status closedWith() {
      Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> closed.get() != null);
      return closed.get();
    }
  }
}
