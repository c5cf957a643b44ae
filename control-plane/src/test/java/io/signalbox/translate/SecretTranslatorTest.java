package io.signalbox.translate;

import static org.assertj.core.api.Assertions.assertThat;

import io.envoyproxy.controlplane.cache.Resources.ResourceType;
import io.envoyproxy.controlplane.cache.VersionedResource;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.signalbox.config.CertificateSpec;
import io.signalbox.config.GatewaySettings;
import io.signalbox.config.ListenerSpec;
import io.signalbox.model.RegistryState;
import io.signalbox.security.SecretValue;
import io.signalbox.xds.ContentVersionedSnapshot;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Certificates reach Envoy as SDS secrets: one per certificate, the key inside, and nowhere else.
 */
class SecretTranslatorTest {

  static CertificateSpec certificate(String name, String serial, String... hosts) {
    return new CertificateSpec(
        name,
        List.of(hosts),
        Path.of(name + ".pem"),
        Path.of(name + ".key"),
        "-----BEGIN CERTIFICATE-----\n"
            + name
            + "-chain-"
            + serial
            + "\n-----END CERTIFICATE-----\n",
        SecretValue.of(privateKey(name, serial)));
  }

  static String privateKey(String name, String serial) {
    return "-----BEGIN PRIVATE KEY-----\n"
        + name
        + "-key-"
        + serial
        + "\n-----END PRIVATE KEY-----\n";
  }

  private static GatewaySettings settings(CertificateSpec... certificates) {
    GatewaySettings.Builder builder =
        GatewaySettings.builder().listener(ListenerSpec.https("https", "0.0.0.0", 10443));
    List.of(certificates).forEach(builder::certificate);
    return builder.build();
  }

  @Test
  void eachCertificateIsOneSecretNamedAfterIt() {
    List<Secret> secrets =
        new SecretTranslator()
            .secrets(
                settings(
                    certificate("a", "1", "a.example.test"),
                    certificate("b", "1", "b.example.test")));

    assertThat(secrets)
        .extracting(Secret::getName)
        .containsExactly(XdsNames.certificateSecret("a"), XdsNames.certificateSecret("b"));
    Secret a = secrets.get(0);
    assertThat(a.getTlsCertificate().getCertificateChain().getInlineString()).contains("a-chain-1");
    assertThat(a.getTlsCertificate().getPrivateKey().getInlineString())
        .isEqualTo(privateKey("a", "1"));
  }

  @Test
  void withoutCertificatesThereAreNoSecrets() {
    assertThat(new SecretTranslator().secrets(GatewaySettings.DEFAULT)).isEmpty();
  }

  @Test
  void thePrivateKeyIsInTheSecretOnlyAndNeverPrinted() {
    GatewaySettings settings = settings(certificate("a", "1", "a.example.test"));
    XdsResources resources = new GatewayTranslator().translate(RegistryState.EMPTY, settings);

    assertThat(resources.secrets()).hasSize(1);
    assertThat(XdsJson.print(resources.secrets().get(0)))
        .contains("a-chain-1")
        .contains(XdsJson.REDACTED)
        .doesNotContain("a-key-1");
    resources
        .listeners()
        .forEach(
            listener ->
                assertThat(listener.toByteString().toStringUtf8())
                    .as("listener %s carries no key material", listener.getName())
                    .doesNotContain("a-key-1"));
    assertThat(settings.toString()).doesNotContain("a-key-1");
  }

  @Test
  void rotatingACertificateChangesItsSecretAndNoListener() {
    ContentVersionedSnapshot before =
        snapshot(
            settings(
                certificate("a", "1", "a.example.test"), certificate("b", "1", "b.example.test")));
    ContentVersionedSnapshot after =
        snapshot(
            settings(
                certificate("a", "2", "a.example.test"), certificate("b", "1", "b.example.test")));

    assertThat(after.listeners().version()).isEqualTo(before.listeners().version());
    assertThat(after.routes().version()).isEqualTo(before.routes().version());
    assertThat(after.clusters().version()).isEqualTo(before.clusters().version());
    assertThat(after.secrets().version()).isNotEqualTo(before.secrets().version());
    assertThat(version(after, "a")).isNotEqualTo(version(before, "a"));
    assertThat(version(after, "b")).isEqualTo(version(before, "b"));
  }

  private static ContentVersionedSnapshot snapshot(GatewaySettings settings) {
    return ContentVersionedSnapshot.of(
        new GatewayTranslator().translate(RegistryState.EMPTY, settings));
  }

  @SuppressWarnings("unchecked")
  private static String version(ContentVersionedSnapshot snapshot, String certificate) {
    Map<String, VersionedResource<?>> resources = snapshot.versionedResources(ResourceType.SECRET);
    return resources.get(XdsNames.certificateSecret(certificate)).version();
  }
}
