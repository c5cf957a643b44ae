package io.signalbox.xds;

import static org.assertj.core.api.Assertions.assertThat;

import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.signalbox.config.CertificateSpec;
import io.signalbox.config.GatewaySettings;
import io.signalbox.config.ListenerSpec;
import io.signalbox.model.RegistryState;
import io.signalbox.security.SecretValue;
import io.signalbox.translate.GatewayTranslator;
import io.signalbox.translate.XdsNames;
import io.signalbox.translate.XdsResources;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A snapshot is complete when every resource a listener names is in it, certificate secrets
 * included.
 */
class SnapshotConsistencyTest {

  private static final CertificateSpec A =
      new CertificateSpec(
          "a",
          List.of("a.example.test"),
          Path.of("a.pem"),
          Path.of("a.key"),
          "-----BEGIN CERTIFICATE-----\na\n-----END CERTIFICATE-----\n",
          SecretValue.of("-----BEGIN PRIVATE KEY-----\na\n-----END PRIVATE KEY-----\n"));

  private static XdsResources tlsGateway() {
    GatewaySettings settings =
        GatewaySettings.builder()
            .listener(ListenerSpec.http("http", "0.0.0.0", 10080).withRedirectToHttps(true))
            .listener(ListenerSpec.https("https", "0.0.0.0", 10443))
            .certificate(A)
            .build();
    return new GatewayTranslator().translate(RegistryState.EMPTY, settings);
  }

  private static XdsResources withSecrets(XdsResources resources, List<Secret> secrets) {
    return new XdsResources(
        resources.listeners(),
        resources.routes(),
        resources.clusters(),
        resources.endpoints(),
        secrets);
  }

  @Test
  void aTlsGatewayWithItsSecretsIsComplete() {
    assertThat(SnapshotConsistency.problems(tlsGateway())).isEmpty();
  }

  @Test
  void aListenerNamingAMissingSecretIsIncompleteOnce() {
    List<String> problems = SnapshotConsistency.problems(withSecrets(tlsGateway(), List.of()));

    // The SNI chain and the default chain both name it; that is one problem.
    assertThat(problems)
        .containsExactly("listener https names missing secret " + XdsNames.certificateSecret("a"));
  }

  @Test
  void theDefaultFilterChainsRouteConfigurationMustExistToo() {
    XdsResources complete = tlsGateway();
    XdsResources withoutRoutes =
        new XdsResources(
            complete.listeners(),
            complete.routes().stream()
                .filter(r -> !r.getName().equals(XdsNames.GATEWAY_ROUTES))
                .toList(),
            complete.clusters(),
            complete.endpoints(),
            complete.secrets());

    assertThat(SnapshotConsistency.problems(withoutRoutes))
        .containsExactly(
            "listener https names missing route configuration " + XdsNames.GATEWAY_ROUTES);
  }
}
