package io.signalbox.admin;

import static org.assertj.core.api.Assertions.assertThat;

import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.TlsCertificate;
import io.grpc.stub.StreamObserver;
import io.signalbox.admin.v1.GetSnapshotRequest;
import io.signalbox.admin.v1.GetSnapshotResponse;
import io.signalbox.config.GatewaySettings;
import io.signalbox.store.InMemoryRegistryStore;
import io.signalbox.store.LeasePolicy;
import io.signalbox.translate.GatewayTranslator;
import io.signalbox.translate.XdsJson;
import io.signalbox.translate.XdsResources;
import io.signalbox.xds.ContentVersionedSnapshot;
import io.signalbox.xds.NodeGroups;
import io.signalbox.xds.ProxyStatusTracker;
import io.signalbox.xds.SnapshotPublisher;
import io.signalbox.xds.XdsSnapshotCache;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** A snapshot shown to an operator never carries a private key. */
class SnapshotRedactionTest {

  private static final String PRIVATE_KEY =
      "-----BEGIN PRIVATE KEY-----\nMIIEvQ-not-a-real-key\n-----END PRIVATE KEY-----\n";

  @Test
  void secretsPrintWithTheirPrivateKeyRedacted() {
    XdsSnapshotCache cache = new XdsSnapshotCache(new NodeGroups());
    InMemoryRegistryStore store = new InMemoryRegistryStore(LeasePolicy.DEFAULT);
    SnapshotPublisher publisher =
        SnapshotPublisher.builder(store, GatewaySettings.DEFAULT, new GatewayTranslator(), cache)
            .coalescing(Duration.ofMillis(1), Duration.ofMillis(10))
            .build();
    publisher.groupSeen("edge");
    Secret secret =
        Secret.newBuilder()
            .setName("tls-edge")
            .setTlsCertificate(
                TlsCertificate.newBuilder()
                    .setCertificateChain(
                        DataSource.newBuilder().setInlineString("-----BEGIN CERTIFICATE-----"))
                    .setPrivateKey(DataSource.newBuilder().setInlineString(PRIVATE_KEY)))
            .build();
    cache.setSnapshot(
        "edge",
        ContentVersionedSnapshot.of(
            new XdsResources(List.of(), List.of(), List.of(), List.of(), List.of(secret))));
    AdminService admin =
        new AdminService(
            store,
            store,
            publisher,
            new ProxyStatusTracker(new NodeGroups(), Clock.systemUTC()),
            cache,
            () -> {},
            Clock.systemUTC());

    AtomicReference<GetSnapshotResponse> answer = new AtomicReference<>();
    admin.getSnapshot(
        GetSnapshotRequest.newBuilder().setGroup("edge").setType("secrets").build(),
        new StreamObserver<>() {
          @Override
          public void onNext(GetSnapshotResponse response) {
            answer.set(response);
          }

          @Override
          public void onError(Throwable error) {
            throw new AssertionError(error);
          }

          @Override
          public void onCompleted() {}
        });
    admin.close();

    String json = answer.get().getResources(0).getJson();
    assertThat(json)
        .contains("tls-edge")
        .contains("BEGIN CERTIFICATE")
        .contains(XdsJson.REDACTED)
        .doesNotContain("PRIVATE KEY")
        .doesNotContain("not-a-real-key");
  }
}
