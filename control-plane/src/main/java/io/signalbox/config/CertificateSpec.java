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
 * @param services for a client certificate Envoy presents to instances, the services whose
 *     registrations may name it ({@code *}: every service); empty for one the listeners serve
 */
public record CertificateSpec(
    String name,
    List<String> hosts,
    Path certificateFile,
    Path privateKeyFile,
    String certificateChainPem,
    SecretValue privateKeyPem,
    List<String> services) {

  /** Every service may name it. */
  public static final String EVERY_SERVICE = "*";

  /** A certificate the listeners serve for {@code hosts}. */
  public CertificateSpec(
      String name,
      List<String> hosts,
      Path certificateFile,
      Path privateKeyFile,
      String certificateChainPem,
      SecretValue privateKeyPem) {
    this(
        name,
        hosts,
        certificateFile,
        privateKeyFile,
        certificateChainPem,
        privateKeyPem,
        List.of());
  }

  public CertificateSpec {
    Objects.requireNonNull(name, "name");
    hosts = List.copyOf(hosts);
    services = List.copyOf(services);
    Objects.requireNonNull(certificateFile, "certificateFile");
    Objects.requireNonNull(privateKeyFile, "privateKeyFile");
    Objects.requireNonNull(certificateChainPem, "certificateChainPem");
    Objects.requireNonNull(privateKeyPem, "privateKeyPem");
  }

  /** Whether a registration of {@code service} may name this (client) certificate. */
  public boolean grantedTo(String service) {
    return services.contains(EVERY_SERVICE) || services.contains(service);
  }
}
