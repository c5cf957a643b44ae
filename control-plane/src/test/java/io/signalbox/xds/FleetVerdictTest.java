package io.signalbox.xds;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.rpc.Status;
import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.controlplane.cache.Resources.ResourceType;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.signalbox.config.GatewaySettings;
import io.signalbox.model.Instance;
import io.signalbox.model.PathMatch;
import io.signalbox.model.RegistryState;
import io.signalbox.model.RouteSpec;
import io.signalbox.model.ServiceState;
import io.signalbox.translate.GatewayTranslator;
import io.signalbox.translate.XdsNames;
import io.signalbox.xds.FleetVerdict.Kind;
import io.signalbox.xds.FleetVerdict.Verdict;
import java.time.Clock;
import java.util.List;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/**
 * Whether the fleet accepted a snapshot, judged from the xDS answers the proxy tracker recorded: by
 * version, over the names each Envoy asked for, and only counting rejections of what differs from
 * the last good configuration.
 */
class FleetVerdictTest {

  private static final String CDS = Resources.V3.CLUSTER_TYPE_URL;
  private static final String EDS = Resources.V3.ENDPOINT_TYPE_URL;
  private static final String LDS = Resources.V3.LISTENER_TYPE_URL;
  private static final String RDS = Resources.V3.ROUTE_TYPE_URL;
  private static final List<String> ROUTE_NAMES = List.of(XdsNames.GATEWAY_ROUTES);

  private final ProxyStatusTracker tracker =
      new ProxyStatusTracker(new NodeGroups(), Clock.systemUTC());
  private final AtomicInteger nonces = new AtomicInteger();

  static ContentVersionedSnapshot snapshot(String... services) {
    return snapshot(8080, services);
  }

  private static ContentVersionedSnapshot snapshot(int port, String... services) {
    TreeMap<String, ServiceState> states = new TreeMap<>();
    for (String name : services) {
      states.put(
          name,
          new ServiceState(
              name,
              List.of(RouteSpec.builder(PathMatch.prefix("/" + name)).build()),
              List.of(Instance.of(name + "-1", "10.0.0.1", port))));
    }
    return ContentVersionedSnapshot.of(
        new GatewayTranslator().translate(new RegistryState(1, states), GatewaySettings.DEFAULT));
  }

  private static final ContentVersionedSnapshot REFERENCE = snapshot("orders");
  private static final ContentVersionedSnapshot NEXT = snapshot("orders", "billing");

  private Verdict verdict(ContentVersionedSnapshot snapshot) {
    return FleetVerdict.of(snapshot, REFERENCE, tracker.proxies());
  }

  /** One state-of-the-world Envoy on its own stream, subscribing as Envoy does. */
  private final class SotwEnvoy {
    final long stream;
    final Node node;

    SotwEnvoy(long stream, String id) {
      this.stream = stream;
      this.node = Node.newBuilder().setId(id).setCluster("edge").build();
    }

    /**
     * Subscribes, is sent the snapshot's version of the type over the names, and acknowledges it.
     */
    void accepts(ContentVersionedSnapshot snapshot, String typeUrl, List<String> names) {
      String nonce = sent(snapshot, typeUrl, names);
      tracker.onRequest(
          stream,
          request(typeUrl, names)
              .setVersionInfo(version(snapshot, typeUrl, names))
              .setResponseNonce(nonce)
              .build());
    }

    void rejects(
        ContentVersionedSnapshot snapshot, String typeUrl, List<String> names, String error) {
      String nonce = sent(snapshot, typeUrl, names);
      tracker.onRequest(
          stream,
          request(typeUrl, names)
              .setResponseNonce(nonce)
              .setErrorDetail(Status.newBuilder().setCode(3).setMessage(error))
              .build());
    }

    /** Subscribes (or answered before) and is sent the snapshot, but does not answer yet. */
    String sent(ContentVersionedSnapshot snapshot, String typeUrl, List<String> names) {
      tracker.onRequest(stream, request(typeUrl, names).build());
      String nonce = String.valueOf(nonces.incrementAndGet());
      tracker.onResponse(
          stream,
          DiscoveryResponse.newBuilder()
              .setTypeUrl(typeUrl)
              .setVersionInfo(version(snapshot, typeUrl, names))
              .setNonce(nonce)
              .build());
      return nonce;
    }

    void acceptsAll(ContentVersionedSnapshot snapshot) {
      accepts(snapshot, CDS, List.of());
      accepts(snapshot, EDS, List.copyOf(snapshot.resources(ResourceType.ENDPOINT).keySet()));
      accepts(snapshot, LDS, List.of());
      accepts(snapshot, RDS, ROUTE_NAMES);
    }

    private DiscoveryRequest.Builder request(String typeUrl, List<String> names) {
      return DiscoveryRequest.newBuilder()
          .setNode(node)
          .setTypeUrl(typeUrl)
          .addAllResourceNames(names);
    }
  }

  private static String version(
      ContentVersionedSnapshot snapshot, String typeUrl, List<String> names) {
    return snapshot.version(typeUrl, names);
  }

  @Nested
  class StateOfTheWorld {

    private final SotwEnvoy edge1 = new SotwEnvoy(1, "edge-1");

    @Test
    void isAcceptedWhenEveryTypeIsAcknowledgedAtTheSnapshotsVersion() {
      edge1.acceptsAll(NEXT);

      assertThat(verdict(NEXT).kind()).isEqualTo(Kind.ACCEPTED);
      assertThat(verdict(REFERENCE).kind())
          .as("an older snapshot is not what Envoy runs")
          .isEqualTo(Kind.PENDING);
    }

    @Test
    void comparesNamedTypesOverTheNamesEnvoyAskedFor() {
      edge1.acceptsAll(NEXT);
      List<String> onlyOrders = List.of(XdsNames.serviceCluster("orders"));
      edge1.accepts(NEXT, EDS, onlyOrders);

      assertThat(version(NEXT, EDS, onlyOrders)).isNotEqualTo(NEXT.version(ResourceType.ENDPOINT));
      assertThat(verdict(NEXT).kind()).isEqualTo(Kind.ACCEPTED);
    }

    @Test
    void isRejectedWhenAnEnvoyRejectsATypeThatChanged() {
      edge1.accepts(NEXT, CDS, List.of());
      edge1.accepts(NEXT, LDS, List.of());
      edge1.rejects(
          NEXT,
          RDS,
          ROUTE_NAMES,
          "regex '/(ab|cd){30}' RE2 program size of 305 > max program size");

      Verdict verdict = verdict(NEXT);

      assertThat(verdict.kind()).isEqualTo(Kind.REJECTED);
      assertThat(verdict.firstRejection().describe())
          .isEqualTo(
              "edge-1 (group edge) rejected routes: regex '/(ab|cd){30}' RE2 program size of 305 > max "
                  + "program size");
      assertThat(verdict.firstRejection().version()).isEqualTo(version(NEXT, RDS, ROUTE_NAMES));
    }

    @Test
    void isPendingWhileAResponseIsUnanswered() {
      edge1.acceptsAll(REFERENCE);
      edge1.accepts(NEXT, CDS, List.of());
      edge1.sent(NEXT, RDS, ROUTE_NAMES);

      assertThat(verdict(NEXT).kind()).isEqualTo(Kind.PENDING);
    }

    @Test
    void isPendingWhileAChangedTypeIsNotEvenSentYet() {
      // The library sends responses on an executor: the snapshot is set, the response follows a
      // moment later.
      edge1.acceptsAll(REFERENCE);

      assertThat(verdict(NEXT).kind()).isEqualTo(Kind.PENDING);
    }

    @Test
    void excusesARejectionOfResourcesTheLastGoodConfigurationHoldsAsWell() {
      // Listeners depend on the settings only: a listener Envoy cannot bind is not the
      // registrations' doing.
      edge1.rejects(NEXT, LDS, List.of(), "cannot bind 127.0.0.1:10000: Address already in use");
      edge1.accepts(NEXT, CDS, List.of());
      edge1.accepts(NEXT, RDS, ROUTE_NAMES);

      Verdict verdict = verdict(NEXT);

      assertThat(verdict.kind()).isEqualTo(Kind.ACCEPTED);
      assertThat(verdict.rejections()).isEmpty();
      assertThat(verdict.excused())
          .singleElement()
          .satisfies(rejection -> assertThat(rejection.typeUrl()).isEqualTo(LDS));
    }

    @Test
    void anOldRejectionDoesNotCountAgainstANewerSnapshot() {
      edge1.rejects(NEXT, RDS, ROUTE_NAMES, "bad");
      ContentVersionedSnapshot newer = snapshot("orders", "users");
      edge1.accepts(newer, CDS, List.of());
      edge1.accepts(newer, LDS, List.of());

      assertThat(verdict(newer).kind())
          .as("routes of the newer snapshot are unanswered")
          .isEqualTo(Kind.PENDING);

      edge1.accepts(newer, RDS, ROUTE_NAMES);
      assertThat(verdict(newer).kind()).isEqualTo(Kind.ACCEPTED);
    }

    @Test
    void aSnapshotWithTheRejectedResourcesIsRejectedWithoutBeingSentAgain() {
      // After a NACK the rejected version is not sent again; a trial holding the same routes is
      // rejected as well.
      edge1.accepts(NEXT, CDS, List.of());
      edge1.accepts(NEXT, LDS, List.of());
      edge1.rejects(NEXT, RDS, ROUTE_NAMES, "bad");
      ContentVersionedSnapshot sameRoutes = snapshot(9090, "orders", "billing");
      edge1.accepts(sameRoutes, CDS, List.of());
      edge1.accepts(
          sameRoutes, EDS, List.copyOf(sameRoutes.resources(ResourceType.ENDPOINT).keySet()));

      assertThat(sameRoutes.version()).isNotEqualTo(NEXT.version());
      assertThat(verdict(sameRoutes).kind()).isEqualTo(Kind.REJECTED);
    }
  }

  @Nested
  class AFleet {

    private final SotwEnvoy edge1 = new SotwEnvoy(1, "edge-1");
    private final SotwEnvoy edge2 = new SotwEnvoy(2, "edge-2");

    @Test
    void oneRejectionIsEnough() {
      edge1.acceptsAll(NEXT);
      edge2.accepts(NEXT, CDS, List.of());
      edge2.rejects(NEXT, RDS, ROUTE_NAMES, "older Envoy, stricter check");

      Verdict verdict = verdict(NEXT);

      assertThat(verdict.kind()).isEqualTo(Kind.REJECTED);
      assertThat(verdict.firstRejection().nodeId()).isEqualTo("edge-2");
    }

    @Test
    void anAcceptanceNeedsEveryEnvoy() {
      edge1.acceptsAll(NEXT);
      edge2.acceptsAll(REFERENCE);

      assertThat(verdict(NEXT).kind()).isEqualTo(Kind.PENDING);

      edge2.acceptsAll(NEXT);
      assertThat(verdict(NEXT).kind()).isEqualTo(Kind.ACCEPTED);
    }

    @Test
    void noEnvoyMeansNoVerdict() {
      assertThat(verdict(NEXT).kind()).isEqualTo(Kind.PENDING);
    }
  }

  @Nested
  class Delta {

    private final Node node = Node.newBuilder().setId("delta-1").setCluster("edge").build();

    private String sent(ContentVersionedSnapshot snapshot, String typeUrl) {
      tracker.onDeltaRequest(
          7, DeltaDiscoveryRequest.newBuilder().setNode(node).setTypeUrl(typeUrl).build());
      String nonce = String.valueOf(nonces.incrementAndGet());
      tracker.onDeltaResponse(
          7,
          DeltaDiscoveryResponse.newBuilder()
              .setTypeUrl(typeUrl)
              .setSystemVersionInfo(snapshot.version(typeUrl))
              .setNonce(nonce)
              .build());
      return nonce;
    }

    private void accepts(ContentVersionedSnapshot snapshot, String typeUrl) {
      tracker.onDeltaRequest(
          7,
          DeltaDiscoveryRequest.newBuilder()
              .setNode(node)
              .setTypeUrl(typeUrl)
              .setResponseNonce(sent(snapshot, typeUrl))
              .build());
    }

    @Test
    void isJudgedByTheSystemVersionOfTheAnsweredResponse() {
      accepts(NEXT, CDS);
      accepts(NEXT, LDS);
      String routes = sent(NEXT, RDS);

      assertThat(verdict(NEXT).kind()).isEqualTo(Kind.PENDING);

      tracker.onDeltaRequest(
          7,
          DeltaDiscoveryRequest.newBuilder()
              .setNode(node)
              .setTypeUrl(RDS)
              .setResponseNonce(routes)
              .setErrorDetail(Status.newBuilder().setMessage("bad regex"))
              .build());
      Verdict verdict = verdict(NEXT);
      assertThat(verdict.kind()).isEqualTo(Kind.REJECTED);
      assertThat(verdict.firstRejection().describe())
          .isEqualTo("delta-1 (group edge) rejected routes: bad regex");
    }

    @Test
    void endpointsCountAsAcceptedOnceTheirLatestResponseIs() {
      // A delta stream that unsubscribes from a removed cluster's endpoints is sent nothing for it.
      accepts(REFERENCE, EDS);
      accepts(NEXT, CDS);
      accepts(NEXT, LDS);
      accepts(NEXT, RDS);

      assertThat(verdict(NEXT).kind()).isEqualTo(Kind.ACCEPTED);
    }
  }
}
