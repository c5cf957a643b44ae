package io.signalbox.translate;

import static org.assertj.core.api.Assertions.assertThat;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.signalbox.config.CertificateSpec;
import io.signalbox.config.GatewaySettings;
import io.signalbox.model.Instance;
import io.signalbox.model.PathMatch;
import io.signalbox.model.Registration;
import io.signalbox.model.RouteSpec;
import io.signalbox.model.TrafficPolicy;
import io.signalbox.security.SecretValue;
import io.signalbox.store.InMemoryRegistryStore;
import io.signalbox.store.LeasePolicy;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * A registration naming an operator's client certificate is checked against its grant when it is
 * made; the translation checks again, as the grant may have been narrowed since while the lease
 * lives on: Envoy presents the certificate only for a service it is granted to.
 */
class ClientCertificateGrantTest {

  private static final TrafficPolicy.UpstreamTls PRESENTING_GATEWAY =
      new TrafficPolicy.UpstreamTls(
          "billing.internal",
          "-----BEGIN CERTIFICATE-----\nca\n-----END CERTIFICATE-----\n",
          List.of(),
          Optional.of("gateway"));

  private static GatewaySettings grantingGatewayTo(String service) {
    return GatewaySettings.DEFAULT.toBuilder()
        .upstreamClientCertificate(
            new CertificateSpec(
                "gateway",
                List.of(),
                Path.of("gateway.pem"),
                Path.of("gateway.key"),
                "-----BEGIN CERTIFICATE-----\ngateway\n-----END CERTIFICATE-----\n",
                SecretValue.of("-----BEGIN PRIVATE KEY-----\nk\n-----END PRIVATE KEY-----\n"),
                List.of(service)))
        .build();
  }

  private static int clientCertificatesOfBilling(GatewaySettings settings) throws Exception {
    InMemoryRegistryStore store = new InMemoryRegistryStore(LeasePolicy.DEFAULT, () -> 0L);
    store.register(
        new Registration(
                "billing",
                Instance.of("billing-1", "10.0.0.7", 8443),
                List.of(RouteSpec.builder(PathMatch.prefix("/billing")).build()))
            .withTraffic(TrafficPolicy.DEFAULT.withTls(Optional.of(PRESENTING_GATEWAY))),
        Optional.empty());
    Cluster billing =
        new GatewayTranslator()
            .translate(store.state(), settings).clusters().stream()
                .filter(cluster -> cluster.getName().equals(XdsNames.serviceCluster("billing")))
                .findFirst()
                .orElseThrow();
    return billing
        .getTransportSocket()
        .getTypedConfig()
        .unpack(UpstreamTlsContext.class)
        .getCommonTlsContext()
        .getTlsCertificateSdsSecretConfigsCount();
  }

  @Test
  void aServiceTheCertificateIsGrantedToPresentsIt() throws Exception {
    assertThat(clientCertificatesOfBilling(grantingGatewayTo("billing"))).isEqualTo(1);
  }

  @Test
  void aServiceWhoseGrantWasWithdrawnConnectsWithoutIt() throws Exception {
    assertThat(clientCertificatesOfBilling(grantingGatewayTo("ledger"))).isZero();
  }
}
