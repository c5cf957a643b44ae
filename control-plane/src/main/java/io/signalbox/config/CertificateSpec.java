package io.signalbox.config;

import io.signalbox.security.SecretValue;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * A TLS certificate the HTTPS listeners serve for {@code hosts} (SNI names, wildcards like {@code
 * *.example.com} allowed), as read from its files when the settings were loaded. The first
 * certificate is also served to clients that send no SNI or an unknown name.
 *
 * @param certificateChainPem the certificate chain, PEM
 * @param privateKeyPem the private key, PEM; never printed
 */
public record CertificateSpec(
    String name,
    List<String> hosts,
    Path certificateFile,
    Path privateKeyFile,
    String certificateChainPem,
    SecretValue privateKeyPem) {

  public CertificateSpec {
    Objects.requireNonNull(name, "name");
    hosts = List.copyOf(hosts);
    Objects.requireNonNull(certificateFile, "certificateFile");
    Objects.requireNonNull(privateKeyFile, "privateKeyFile");
    Objects.requireNonNull(certificateChainPem, "certificateChainPem");
    Objects.requireNonNull(privateKeyPem, "privateKeyPem");
  }
}
