package io.signalbox.translate;

import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.TlsCertificate;
import io.signalbox.config.CertificateSpec;
import io.signalbox.config.GatewaySettings;
import java.util.List;

/**
 * TLS certificates of the settings as SDS secrets, which TLS listeners (served certificates) and
 * service clusters (client certificates for mutual TLS to instances) refer to by name.
 *
 * <p>Certificates travel as secrets rather than inline in the listeners so that a rotated
 * certificate changes only its secret: Envoy swaps the certificate for new handshakes and leaves
 * the listener, and every open connection, alone. The PEM goes inline (not as a file name) because
 * Envoy need not share a file system with Signalbox.
 */
final class SecretTranslator {

  List<Secret> secrets(GatewaySettings settings) {
    return java.util.stream.Stream.concat(
            settings.certificates().stream()
                .map(c -> secret(XdsNames.certificateSecret(c.name()), c)),
            settings.upstreamClientCertificates().stream()
                .map(c -> secret(XdsNames.upstreamClientSecret(c.name()), c)))
        .toList();
  }

  private static Secret secret(String name, CertificateSpec certificate) {
    return Secret.newBuilder()
        .setName(name)
        .setTlsCertificate(
            TlsCertificate.newBuilder()
                .setCertificateChain(
                    DataSource.newBuilder().setInlineString(certificate.certificateChainPem()))
                // The one place the key is revealed: into the resource that Envoy needs it in.
                .setPrivateKey(
                    DataSource.newBuilder().setInlineString(certificate.privateKeyPem().reveal())))
        .build();
  }
}
