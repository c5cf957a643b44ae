package io.signalbox.xds;

import static org.assertj.core.api.Assertions.assertThat;

import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.controlplane.cache.Resources.ResourceType;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.Resource;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/**
 * Make-before-break by order ({@link ProxyStatusTracker#delivered}): a new cluster's endpoints
 * count as delivered to an Envoy once they were written to its stream in answer to its asking for
 * them, before it answers; whatever is sent after them reaches it after them.
 */
class InOrderDeliveryTest {

  private static final String GROUP = "edge";
  private static final String CDS = Resources.V3.CLUSTER_TYPE_URL;
  private static final String EDS = Resources.V3.ENDPOINT_TYPE_URL;
  private static final Node ENVOY = Node.newBuilder().setId("edge-1").setCluster(GROUP).build();
  private static final Node OTHER_ENVOY =
      Node.newBuilder().setId("edge-2").setCluster(GROUP).build();

  private final ProxyStatusTracker tracker =
      new ProxyStatusTracker(
          new NodeGroups(), Clock.fixed(Instant.parse("2026-01-01T00:00:00Z"), ZoneOffset.UTC));

  private final ContentVersionedSnapshot snapshot =
      ContentVersionedSnapshot.of(MakeBeforeBreakTest.gatewayWith("a", "b", "c"));

  private boolean delivered(String... required) {
    return tracker.delivered(GROUP, ResourceType.ENDPOINT, Set.of(required), snapshot);
  }

  @Nested
  class StateOfTheWorld {

    private String version(String... names) {
      return snapshot.version(ResourceType.ENDPOINT, List.of(names));
    }

    private void request(long stream, String version, String nonce, String... names) {
      tracker.onRequest(
          stream,
          DiscoveryRequest.newBuilder()
              .setNode(stream == 1 ? ENVOY : OTHER_ENVOY)
              .setTypeUrl(EDS)
              .setVersionInfo(version)
              .setResponseNonce(nonce)
              .addAllResourceNames(List.of(names))
              .build());
    }

    private void respond(long stream, String version, String nonce) {
      tracker.onResponse(
          stream,
          DiscoveryResponse.newBuilder()
              .setTypeUrl(EDS)
              .setVersionInfo(version)
              .setNonce(nonce)
              .build());
    }

    /** Envoy holds the endpoints of "a", acknowledged. */
    private void holdingA(long stream) {
      request(stream, "", "", "svc-a");
      respond(stream, version("svc-a"), "0");
      tracker.written(stream, EDS, "0");
      request(stream, version("svc-a"), "0", "svc-a");
    }

    @Test
    void aNewClustersEndpointsAreDeliveredOnceTheResponseToTheRequestNamingThemIsWritten() {
      holdingA(1);
      assertThat(delivered("svc-b")).as("not asked for").isFalse();

      request(1, version("svc-a"), "0", "svc-a", "svc-b");
      assertThat(delivered("svc-b")).as("asked for, not sent").isFalse();
      respond(1, version("svc-a", "svc-b"), "1");
      assertThat(delivered("svc-b"))
          .as("recorded, not yet written: a later one could overtake it")
          .isFalse();

      tracker.written(1, EDS, "1");

      assertThat(delivered("svc-b")).isTrue();
      assertThat(tracker.applied(GROUP, ResourceType.ENDPOINT, Set.of("svc-b"), snapshot))
          .as("not answered yet")
          .isFalse();
    }

    @Test
    void anEnvoyAskingForEveryAssignmentMustAnswer() {
      request(1, "", "");
      respond(1, version(), "0");
      tracker.written(1, EDS, "0");

      assertThat(delivered("svc-b"))
          .as("it may have been sent them before their clusters")
          .isFalse();
    }

    @Test
    void aResponseOfAnotherVersionIsNotTheStagesDelivery() {
      holdingA(1);
      request(1, version("svc-a"), "0", "svc-a", "svc-b");
      respond(1, "an older snapshot's version", "1");
      tracker.written(1, EDS, "1");

      assertThat(delivered("svc-b")).isFalse();
    }

    @Test
    void everyEnvoyOfTheGroupMustHaveItDelivered() {
      holdingA(1);
      holdingA(2);
      request(1, version("svc-a"), "0", "svc-a", "svc-b");
      respond(1, version("svc-a", "svc-b"), "1");
      tracker.written(1, EDS, "1");
      assertThat(delivered("svc-b")).as("the other Envoy has not asked yet").isFalse();

      request(2, version("svc-a"), "0", "svc-a", "svc-b");
      respond(2, version("svc-a", "svc-b"), "1");
      tracker.written(2, EDS, "1");

      assertThat(delivered("svc-b")).isTrue();
    }

    @Test
    void anAcknowledgedTypeIsDeliveredWhateverTheRecordOfWrites() {
      holdingA(1);
      request(1, version("svc-a"), "0", "svc-a", "svc-b");
      respond(1, version("svc-a", "svc-b"), "1");
      request(1, version("svc-a", "svc-b"), "1", "svc-a", "svc-b");

      assertThat(delivered("svc-b")).as("its write went unreported").isTrue();
    }

    @Test
    void onlyEndpointsAreDeliveredByOrderOtherTypesMustBeApplied() {
      tracker.onRequest(1, DiscoveryRequest.newBuilder().setNode(ENVOY).setTypeUrl(CDS).build());
      String clusters = snapshot.version(ResourceType.CLUSTER, List.of());
      tracker.onResponse(
          1,
          DiscoveryResponse.newBuilder()
              .setTypeUrl(CDS)
              .setVersionInfo(clusters)
              .setNonce("0")
              .build());
      tracker.written(1, CDS, "0");

      assertThat(tracker.delivered(GROUP, ResourceType.CLUSTER, Set.of(), snapshot)).isFalse();
    }
  }

  @Test
  void anEnvoyThatNeverAskedForEndpointsHasItsFirstClustersOnceItAnsweredThem() {
    // Its first EDS cluster: Envoy asks for no endpoints before it made the cluster.
    tracker.onDeltaRequest(
        1, DeltaDiscoveryRequest.newBuilder().setNode(ENVOY).setTypeUrl(CDS).build());
    tracker.onDeltaResponse(
        1,
        DeltaDiscoveryResponse.newBuilder()
            .setTypeUrl(CDS)
            .setSystemVersionInfo(snapshot.version(ResourceType.CLUSTER, List.of()))
            .setNonce("0")
            .build());
    tracker.written(1, CDS, "0");
    assertThat(delivered("svc-a")).as("clusters sent, not yet answered").isFalse();

    tracker.onDeltaRequest(
        1,
        DeltaDiscoveryRequest.newBuilder()
            .setNode(ENVOY)
            .setTypeUrl(CDS)
            .setResponseNonce("0")
            .build());

    assertThat(delivered("svc-a")).as("answered: Envoy answers once they are warm").isTrue();
  }

  @Nested
  class Delta {

    private final String version = snapshot.version(ResourceType.ENDPOINT, List.of());

    private void subscribe(String nonce, String... names) {
      tracker.onDeltaRequest(
          1,
          DeltaDiscoveryRequest.newBuilder()
              .setNode(ENVOY)
              .setTypeUrl(EDS)
              .setResponseNonce(nonce)
              .addAllResourceNamesSubscribe(List.of(names))
              .build());
    }

    private void respond(String nonce, String... names) {
      DeltaDiscoveryResponse.Builder response =
          DeltaDiscoveryResponse.newBuilder()
              .setTypeUrl(EDS)
              .setSystemVersionInfo(version)
              .setNonce(nonce);
      for (String name : names) {
        response.addResources(Resource.newBuilder().setName(name).setVersion("1"));
      }
      tracker.onDeltaResponse(1, response.build());
    }

    @Test
    void aNewClustersEndpointsAreDeliveredOnceAResponseCarryingThemIsWritten() {
      subscribe("", "svc-a");
      respond("0", "svc-a");
      tracker.written(1, EDS, "0");
      subscribe("0");
      assertThat(delivered("svc-b")).as("not subscribed to").isFalse();

      subscribe("", "svc-b");
      respond("1", "svc-b");
      assertThat(delivered("svc-b")).as("recorded, not yet written").isFalse();

      tracker.written(1, EDS, "1");

      assertThat(delivered("svc-b")).isTrue();
    }

    @Test
    void anEnvoySubscribedToEveryAssignmentMustAnswer() {
      subscribe("", "*");
      respond("0", "svc-a", "svc-b");
      tracker.written(1, EDS, "0");

      assertThat(delivered("svc-b")).isFalse();
    }

    @Test
    void aResponseWithoutTheNewAssignmentDeliversNothing() {
      subscribe("", "svc-a", "svc-b");
      respond("0", "svc-a");
      tracker.written(1, EDS, "0");

      assertThat(delivered("svc-b")).isFalse();
    }

    @Test
    void assignmentsWrittenBeforeEnvoyLastSubscribedAreNotCounted() {
      subscribe("", "svc-b");
      respond("0", "svc-b");
      tracker.written(1, EDS, "0");
      subscribe("", "svc-c");

      assertThat(delivered("svc-b")).isFalse();
    }
  }
}
