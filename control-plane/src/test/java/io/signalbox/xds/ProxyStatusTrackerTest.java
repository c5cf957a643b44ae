package io.signalbox.xds;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.rpc.Status;
import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.envoy.config.core.v3.BuildVersion;
import io.envoyproxy.envoy.config.core.v3.Locality;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.envoyproxy.envoy.type.v3.SemanticVersion;
import io.signalbox.xds.ProxyStatusTracker.ProxyStatus;
import io.signalbox.xds.ProxyStatusTracker.SyncStatus;
import io.signalbox.xds.ProxyStatusTracker.TypeStatus;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/** Per-Envoy sync status from the xDS messages of its stream, state of the world and delta. */
class ProxyStatusTrackerTest {

  private static final String CDS = Resources.V3.CLUSTER_TYPE_URL;
  private static final String LDS = Resources.V3.LISTENER_TYPE_URL;
  private static final Instant T0 = Instant.parse("2025-01-01T00:00:00Z");

  /** The group of an Envoy of fleet edge that declares a zone. */
  private static final String GROUP = "edge@eu-west-1a";

  private static final Node EDGE_1 =
      Node.newBuilder()
          .setId("edge-1")
          .setCluster("edge")
          .setLocality(Locality.newBuilder().setZone("eu-west-1a"))
          .setUserAgentName("envoy")
          .setUserAgentBuildVersion(
              BuildVersion.newBuilder()
                  .setVersion(
                      SemanticVersion.newBuilder()
                          .setMajorNumber(1)
                          .setMinorNumber(40)
                          .setPatch(0)))
          .build();

  private final ProxyStatusTracker tracker =
      new ProxyStatusTracker(new NodeGroups(), Clock.fixed(T0, ZoneOffset.UTC));

  private ProxyStatus onlyProxy() {
    List<ProxyStatus> proxies = tracker.proxies();
    assertThat(proxies).hasSize(1);
    return proxies.get(0);
  }

  private TypeStatus type(String typeUrl) {
    return onlyProxy().types().get(typeUrl);
  }

  @Nested
  class StateOfTheWorld {

    private void request(String typeUrl, String version, String nonce) {
      tracker.onRequest(
          1,
          DiscoveryRequest.newBuilder()
              .setNode(EDGE_1)
              .setTypeUrl(typeUrl)
              .setVersionInfo(version)
              .setResponseNonce(nonce)
              .build());
    }

    private void nack(String typeUrl, String stillRunning, String nonce, String error) {
      tracker.onRequest(
          1,
          DiscoveryRequest.newBuilder()
              .setNode(EDGE_1)
              .setTypeUrl(typeUrl)
              .setVersionInfo(stillRunning)
              .setResponseNonce(nonce)
              .setErrorDetail(Status.newBuilder().setCode(3).setMessage(error))
              .build());
    }

    private void respond(String typeUrl, String version, String nonce) {
      tracker.onResponse(
          1,
          DiscoveryResponse.newBuilder()
              .setTypeUrl(typeUrl)
              .setVersionInfo(version)
              .setNonce(nonce)
              .build());
    }

    @Test
    void aConnectedEnvoyIsListedWithItsNodeGroupLocalityAndVersion() {
      request(CDS, "", "");

      ProxyStatus proxy = onlyProxy();
      assertThat(proxy.nodeId()).isEqualTo("edge-1");
      assertThat(proxy.group()).as("fleet and zone").isEqualTo(GROUP);
      assertThat(proxy.node().getLocality().getZone()).isEqualTo("eu-west-1a");
      assertThat(proxy.envoyVersion()).isEqualTo("1.40.0");
      assertThat(proxy.mode()).isEqualTo(ProxyStatusTracker.Mode.SOTW);
      assertThat(proxy.connectedSince()).isEqualTo(T0);
    }

    @Test
    void nothingSentYetIsNotSent() {
      request(CDS, "", "");

      assertThat(onlyProxy().status()).isEqualTo(SyncStatus.NOT_SENT);
      assertThat(type(CDS).status()).isEqualTo(SyncStatus.NOT_SENT);
    }

    @Test
    void aResponseIsStaleUntilAcknowledgedThenSynced() {
      request(CDS, "", "");
      respond(CDS, "v1", "0");

      assertThat(type(CDS).status()).isEqualTo(SyncStatus.STALE);
      assertThat(type(CDS).versionSent()).isEqualTo("v1");
      assertThat(type(CDS).versionAcked()).isEmpty();
      assertThat(onlyProxy().status()).isEqualTo(SyncStatus.STALE);

      request(CDS, "v1", "0");

      assertThat(type(CDS).status()).isEqualTo(SyncStatus.SYNCED);
      assertThat(type(CDS).versionAcked()).isEqualTo("v1");
      assertThat(onlyProxy().status()).isEqualTo(SyncStatus.SYNCED);
    }

    @Test
    void aNackIsRecordedWithEnvoysErrorAndTheVersionItRejected() {
      request(LDS, "", "");
      respond(LDS, "v1", "0");
      request(LDS, "v1", "0");
      respond(LDS, "v2", "1");

      nack(LDS, "v1", "1", "cannot bind 127.0.0.1:10000");

      TypeStatus listeners = type(LDS);
      assertThat(listeners.status()).isEqualTo(SyncStatus.NACKED);
      assertThat(listeners.versionAcked()).as("what Envoy still runs").isEqualTo("v1");
      assertThat(listeners.lastNack())
          .hasValueSatisfying(
              nack -> {
                assertThat(nack.version()).isEqualTo("v2");
                assertThat(nack.errorDetail()).isEqualTo("cannot bind 127.0.0.1:10000");
                assertThat(nack.at()).isEqualTo(T0);
              });
      assertThat(onlyProxy().status()).isEqualTo(SyncStatus.NACKED);
    }

    @Test
    void aLaterAcceptedVersionEndsTheNackButTheRecordStays() {
      request(LDS, "", "");
      respond(LDS, "v1", "0");
      nack(LDS, "", "0", "bad");
      respond(LDS, "v2", "1");
      assertThat(type(LDS).status()).isEqualTo(SyncStatus.STALE);

      request(LDS, "v2", "1");

      assertThat(type(LDS).status()).isEqualTo(SyncStatus.SYNCED);
      assertThat(type(LDS).lastNack()).isPresent();
    }

    @Test
    void theProxyIsNackedIfAnyTypeIsElseStaleIfAnyTypeIs() {
      request(CDS, "", "");
      request(LDS, "", "");
      respond(CDS, "c1", "0");
      respond(LDS, "l1", "1");
      request(CDS, "c1", "0");
      assertThat(onlyProxy().status()).isEqualTo(SyncStatus.STALE);

      nack(LDS, "", "1", "bad");

      assertThat(onlyProxy().status()).isEqualTo(SyncStatus.NACKED);
    }

    @Test
    void anAnswerToASupersededResponseIsIgnored() {
      request(CDS, "", "");
      respond(CDS, "v1", "0");
      respond(CDS, "v2", "1");

      request(CDS, "v1", "0");

      assertThat(type(CDS).status()).isEqualTo(SyncStatus.STALE);
      assertThat(type(CDS).versionSent()).isEqualTo("v2");
    }

    @Test
    void aReconnectingEnvoyThatIsSentNothingIsInSyncWithTheVersionItReports() {
      request(CDS, "v7", "");

      assertThat(type(CDS).status()).isEqualTo(SyncStatus.SYNCED);
      assertThat(type(CDS).versionAcked()).isEqualTo("v7");
    }

    @Test
    void aClosedStreamIsForgotten() {
      request(CDS, "", "");

      tracker.onStreamClosed(1);

      assertThat(tracker.proxies()).isEmpty();
    }

    @Test
    void onlyAStreamsFirstRequestOpensItsRecord() {
      DiscoveryRequest first =
          DiscoveryRequest.newBuilder().setNode(EDGE_1).setTypeUrl(CDS).build();
      assertThat(tracker.onRequest(1, first)).isTrue();
      assertThat(tracker.onRequest(1, first.toBuilder().setTypeUrl(LDS).build())).isFalse();
    }

    @Test
    void aRequestHandledAsItsStreamIsCutOffDoesNotBringTheStreamBack() {
      request(CDS, "", "");

      // A cut-off closes the stream from another thread while a request of it is being handled.
      tracker.cutOff(
          new ProxyStatusTracker.CutOffStream(
              1, EDGE_1, new NodeGroups().hash(EDGE_1), Duration.ofSeconds(1), Instant.EPOCH));
      tracker.onStreamClosed(1);
      boolean opened =
          tracker.onRequest(
              1, DiscoveryRequest.newBuilder().setNode(EDGE_1).setTypeUrl(LDS).build());
      boolean openedDelta =
          tracker.onDeltaRequest(
              1, DeltaDiscoveryRequest.newBuilder().setNode(EDGE_1).setTypeUrl(LDS).build());

      assertThat(opened).isFalse();
      assertThat(openedDelta).isFalse();
      assertThat(tracker.proxies()).isEmpty();
      assertThat(tracker.hasStreams(new NodeGroups().hash(EDGE_1)))
          .as("the group can be forgotten")
          .isFalse();
    }

    @Test
    void aGroupHasStreamsFromItsFirstEnvoysFirstRequestUntilItsLastEnvoyLeaves() {
      String group = new NodeGroups().hash(EDGE_1);
      assertThat(tracker.hasStreams(group)).isFalse();

      request(CDS, "", "");
      tracker.onRequest(2, DiscoveryRequest.newBuilder().setNode(EDGE_1).setTypeUrl(CDS).build());
      request(CDS, "", "");
      assertThat(tracker.hasStreams(group)).isTrue();

      tracker.onStreamClosed(1);
      assertThat(tracker.hasStreams(group)).as("one of its two streams is open").isTrue();
      assertThat(tracker.openStreams(group)).isEqualTo(1);
      assertThat(tracker.connected("edge-1")).as("its Envoy, by one stream").isTrue();
      tracker.onStreamClosed(2);
      tracker.onStreamClosed(2);
      assertThat(tracker.hasStreams(group)).isFalse();
      assertThat(tracker.openStreams(group)).isZero();
      assertThat(tracker.connected("edge-1")).isFalse();
      assertThat(tracker.hasStreams("another")).isFalse();
    }
  }

  @Nested
  class Delta {

    private void request(String typeUrl, String nonce) {
      tracker.onDeltaRequest(
          2,
          DeltaDiscoveryRequest.newBuilder()
              .setNode(EDGE_1)
              .setTypeUrl(typeUrl)
              .setResponseNonce(nonce)
              .build());
    }

    private void respond(String typeUrl, String version, String nonce) {
      tracker.onDeltaResponse(
          2,
          DeltaDiscoveryResponse.newBuilder()
              .setTypeUrl(typeUrl)
              .setSystemVersionInfo(version)
              .setNonce(nonce)
              .build());
    }

    @Test
    void anAckIsMatchedToTheVersionOfTheResponseByNonce() {
      request(CDS, "");
      respond(CDS, "v1", "0");
      assertThat(type(CDS).status()).isEqualTo(SyncStatus.STALE);

      request(CDS, "0");

      assertThat(onlyProxy().mode()).isEqualTo(ProxyStatusTracker.Mode.DELTA);
      assertThat(type(CDS).status()).isEqualTo(SyncStatus.SYNCED);
      assertThat(type(CDS).versionAcked()).isEqualTo("v1");
    }

    @Test
    void aNackNamesTheVersionOfTheRejectedResponse() {
      request(LDS, "");
      respond(LDS, "v1", "0");
      request(LDS, "0");
      respond(LDS, "v2", "1");

      tracker.onDeltaRequest(
          2,
          DeltaDiscoveryRequest.newBuilder()
              .setTypeUrl(LDS)
              .setResponseNonce("1")
              .setErrorDetail(Status.newBuilder().setMessage("rejected"))
              .build());

      assertThat(type(LDS).status()).isEqualTo(SyncStatus.NACKED);
      assertThat(type(LDS).versionAcked()).isEqualTo("v1");
      assertThat(type(LDS).lastNack())
          .hasValueSatisfying(nack -> assertThat(nack.version()).isEqualTo("v2"));
    }

    @Test
    void responsesAnsweredInOrderLeaveTheTypeStaleUntilTheLastIsAcknowledged() {
      request(CDS, "");
      respond(CDS, "v1", "0");
      respond(CDS, "v2", "1");

      request(CDS, "0");
      assertThat(type(CDS).status()).isEqualTo(SyncStatus.STALE);
      assertThat(type(CDS).versionAcked()).isEqualTo("v1");

      request(CDS, "1");
      assertThat(type(CDS).status()).isEqualTo(SyncStatus.SYNCED);
      assertThat(type(CDS).versionAcked()).isEqualTo("v2");
    }

    @Test
    void aReconnectingEnvoyHoldingResourcesIsInSyncWhenNothingNeedsSending() {
      tracker.onDeltaRequest(
          2,
          DeltaDiscoveryRequest.newBuilder()
              .setNode(EDGE_1)
              .setTypeUrl(CDS)
              .putInitialResourceVersions("svc-orders", "abc")
              .build());

      assertThat(type(CDS).status()).isEqualTo(SyncStatus.SYNCED);
    }
  }

  /** What make-before-break waits for: a group's Envoys have applied a type of a snapshot. */
  @Nested
  class Applied {

    private final ContentVersionedSnapshot snapshot =
        ContentVersionedSnapshot.of(
            new io.signalbox.translate.GatewayTranslator()
                .translate(
                    io.signalbox.model.RegistryState.EMPTY,
                    io.signalbox.config.GatewaySettings.DEFAULT));
    private final String eds = Resources.V3.ENDPOINT_TYPE_URL;

    private void request(String typeUrl, String version, String nonce, String... names) {
      tracker.onRequest(
          1,
          DiscoveryRequest.newBuilder()
              .setNode(EDGE_1)
              .setTypeUrl(typeUrl)
              .setVersionInfo(version)
              .setResponseNonce(nonce)
              .addAllResourceNames(List.of(names))
              .build());
    }

    private void respond(String typeUrl, String version, String nonce) {
      tracker.onResponse(
          1,
          DiscoveryResponse.newBuilder()
              .setTypeUrl(typeUrl)
              .setVersionInfo(version)
              .setNonce(nonce)
              .build());
    }

    private boolean applied(Resources.ResourceType type, java.util.Set<String> required) {
      return tracker.applied(GROUP, type, required, snapshot);
    }

    @Test
    void aGroupWithoutEnvoysHoldsNothingUp() {
      assertThat(
              tracker.applied(
                  "nobody", Resources.ResourceType.CLUSTER, java.util.Set.of(), snapshot))
          .isTrue();
    }

    @Test
    void onlyTheGroupsOwnEnvoysHoldItUp() {
      String clusters = snapshot.version(Resources.ResourceType.CLUSTER, List.of());
      tracker.onRequest(
          2,
          DiscoveryRequest.newBuilder()
              .setNode(Node.newBuilder().setId("other-1").setCluster("other"))
              .setTypeUrl(CDS)
              .build());
      tracker.onResponse(
          2,
          DiscoveryResponse.newBuilder()
              .setTypeUrl(CDS)
              .setVersionInfo(clusters)
              .setNonce("0")
              .build());
      request(CDS, "", "");
      respond(CDS, clusters, "0");
      request(CDS, clusters, "0");

      assertThat(applied(Resources.ResourceType.CLUSTER, java.util.Set.of()))
          .as("an Envoy of another group has not answered")
          .isTrue();
      assertThat(
              tracker.applied(
                  "other", Resources.ResourceType.CLUSTER, java.util.Set.of(), snapshot))
          .isFalse();
    }

    @Test
    void aTypeIsAppliedOnceItsSnapshotVersionIsAcknowledged() {
      String clusters = snapshot.version(Resources.ResourceType.CLUSTER, List.of());
      request(CDS, "", "");
      respond(CDS, clusters, "0");
      assertThat(applied(Resources.ResourceType.CLUSTER, java.util.Set.of()))
          .as("sent, not acknowledged")
          .isFalse();

      request(CDS, clusters, "0");

      assertThat(applied(Resources.ResourceType.CLUSTER, java.util.Set.of())).isTrue();
    }

    @Test
    void endpointsOfANewClusterAreAppliedOnlyOnceEnvoyAskedForThemAndAcknowledged() {
      String oldNames = snapshot.version(Resources.ResourceType.ENDPOINT, List.of("svc-a"));
      request(eds, "", "", "svc-a");
      respond(eds, oldNames, "0");
      request(eds, oldNames, "0", "svc-a");
      assertThat(applied(Resources.ResourceType.ENDPOINT, java.util.Set.of("svc-b")))
          .as("not asked for")
          .isFalse();

      String bothNames =
          snapshot.version(Resources.ResourceType.ENDPOINT, List.of("svc-a", "svc-b"));
      request(eds, oldNames, "0", "svc-a", "svc-b");
      assertThat(applied(Resources.ResourceType.ENDPOINT, java.util.Set.of("svc-b")))
          .as("asked for")
          .isFalse();
      respond(eds, bothNames, "1");
      request(eds, bothNames, "1", "svc-a", "svc-b");

      assertThat(applied(Resources.ResourceType.ENDPOINT, java.util.Set.of("svc-b"))).isTrue();
    }

    /** A delta Envoy that reconnects listing what it holds is sent nothing when that is current. */
    private void resumeOnDelta(String typeUrl, java.util.Map<String, String> held) {
      tracker.onDeltaRequest(
          2,
          io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest.newBuilder()
              .setNode(EDGE_1)
              .setTypeUrl(typeUrl)
              .putAllInitialResourceVersions(held)
              .build());
    }

    private java.util.Map<String, String> listenerVersions() {
      java.util.Map<String, String> versions = new java.util.HashMap<>();
      snapshot
          .versionedResources(Resources.ResourceType.LISTENER)
          .forEach(
              (name, resource) ->
                  versions.put(
                      (String) name,
                      ((io.envoyproxy.controlplane.cache.VersionedResource<?>) resource)
                          .version()));
      assertThat(versions).isNotEmpty();
      return versions;
    }

    @Test
    void aDeltaEnvoyThatResumedHoldingTheSnapshotHasAppliedItThoughNothingWasSent() {
      resumeOnDelta(LDS, listenerVersions());

      assertThat(applied(Resources.ResourceType.LISTENER, java.util.Set.of())).isTrue();
    }

    @Test
    void aDeltaEnvoyThatResumedHoldingSomethingElseHasNotAppliedTheSnapshot() {
      java.util.Map<String, String> held = listenerVersions();
      held.replaceAll((name, version) -> "older");
      resumeOnDelta(LDS, held);
      assertThat(applied(Resources.ResourceType.LISTENER, java.util.Set.of()))
          .as("another version")
          .isFalse();

      java.util.Map<String, String> more = listenerVersions();
      more.put("deleted-meanwhile", "v1");
      resumeOnDelta(LDS, more);
      assertThat(applied(Resources.ResourceType.LISTENER, java.util.Set.of()))
          .as("a resource too many")
          .isFalse();
    }

    @Test
    void aRejectedTypeHoldsNothingUp() {
      request(CDS, "", "");
      respond(CDS, "v1", "0");
      tracker.onRequest(
          1,
          DiscoveryRequest.newBuilder()
              .setNode(EDGE_1)
              .setTypeUrl(CDS)
              .setResponseNonce("0")
              .setErrorDetail(Status.newBuilder().setCode(3).setMessage("bad"))
              .build());

      assertThat(applied(Resources.ResourceType.CLUSTER, java.util.Set.of())).isTrue();
    }
  }
}
