package io.signalbox.config;

import static io.signalbox.config.GatewaySettingsLoader.check;
import static io.signalbox.config.GatewaySettingsLoader.name;
import static io.signalbox.config.GatewaySettingsLoader.readFile;

import com.google.common.net.InternetDomainName;
import io.signalbox.security.SecretValue;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.Locale;
import java.util.function.BiFunction;

/**
 * Checks one certificate the settings name (one a listener serves, or a client certificate Envoy
 * presents upstream) and builds its {@link CertificateSpec}: a PEM chain and the private key that
 * fits its leaf. Errors name the field and the file, never the key.
 */
final class CertificateReader {

  private CertificateReader() {}

  /**
   * @param served a certificate the listeners serve (it needs hosts), not one Envoy presents as a
   *     client
   * @param file resolves a path the settings name (relative to the settings file) and records it
   *     for the watcher
   */
  static CertificateSpec read(
      String field,
      SettingsFileFormat.Certificate format,
      boolean served,
      BiFunction<String, String, Path> file) {
    String name = name(field + ".name", format.name);
    check(
        !served || !format.hosts.isEmpty(), field + ".hosts", "at least one host name is required");
    for (int i = 0; i < format.hosts.size(); i++) {
      String host = format.hosts.get(i);
      String bare = host != null && host.startsWith("*.") ? host.substring(2) : host;
      check(
          bare != null
              && InternetDomainName.isValid(bare)
              && host.equals(host.toLowerCase(Locale.ROOT)),
          field + ".hosts[" + i + "]",
          "'" + host + "' is not a lowercase host name or '*.' wildcard");
    }
    Path certificateFile = file.apply(field + ".certificateFile", format.certificateFile);
    Path keyFile = file.apply(field + ".privateKeyFile", format.privateKeyFile);
    String chain = readFile(field + ".certificateFile", certificateFile);
    X509Certificate leaf;
    try {
      var certificates =
          CertificateFactory.getInstance("X.509")
              .generateCertificates(
                  new ByteArrayInputStream(chain.getBytes(StandardCharsets.US_ASCII)));
      check(
          !certificates.isEmpty(),
          field + ".certificateFile",
          certificateFile + " holds no certificate");
      leaf = (X509Certificate) certificates.iterator().next();
    } catch (CertificateException e) {
      throw new InvalidSettingsException(
          field
              + ".certificateFile: "
              + certificateFile
              + " is not a PEM certificate: "
              + e.getMessage());
    }
    // The key itself is never echoed: only whether it looks like one, and whether it fits the
    // certificate.
    String key = readFile(field + ".privateKeyFile", keyFile);
    check(
        key.contains("-----BEGIN") && key.contains("PRIVATE KEY-----"),
        field + ".privateKeyFile",
        keyFile + " is not a PEM private key");
    check(
        CertificateKeyMatch.matches(leaf, key).orElse(true),
        field + ".privateKeyFile",
        keyFile
            + " is not the private key of "
            + certificateFile
            + " ("
            + leaf.getSubjectX500Principal()
            + ")");
    return new CertificateSpec(
        name, format.hosts, certificateFile, keyFile, chain, SecretValue.of(key), format.services);
  }
}
