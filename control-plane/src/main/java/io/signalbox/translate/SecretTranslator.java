package io.signalbox.translate;

import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.TlsCertificate;
import io.signalbox.config.CertificateSpec;
import io.signalbox.config.GatewaySettings;
import java.util.List;

/**
 * TLS certificates of the settings as SDS secrets, which TLS listeners refer to by name.
 *
 * <p>Certificates travel as secrets rather than inline in the listeners so that a rotated
 * certificate changes only its secret: Envoy swaps the certificate for new handshakes and leaves
 * the listener, and every open connection, alone. The PEM goes inline (not as a file name) because
 * Envoy need not share a file system with Signalbox.
 */
final class SecretTranslator {

  List<Secret> secrets(GatewaySettings settings) {
    return settings.certificates().stream().map(SecretTranslator::secret).toList();
  }

  private static Secret secret(CertificateSpec certificate) {
    return Secret.newBuilder()
        .setName(XdsNames.certificateSecret(certificate.name()))
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
