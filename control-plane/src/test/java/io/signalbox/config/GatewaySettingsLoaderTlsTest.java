package io.signalbox.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The TLS parts of the settings file: HTTPS listeners, their minimum version, redirects, and
 * certificate files.
 */
class GatewaySettingsLoaderTlsTest {

  private static final Path TEST_CERTIFICATES = Path.of("src/test/resources/translate/in/certs");

  @TempDir Path directory;
  private String keyA;

  @BeforeEach
  void copyTestCertificates() throws IOException {
    for (String file :
        new String[] {
          "a.example.test.pem", "a.example.test.key", "b.example.test.pem", "b.example.test.key"
        }) {
      Files.copy(TEST_CERTIFICATES.resolve(file), directory.resolve(file));
    }
    keyA = Files.readString(directory.resolve("a.example.test.key"));
  }

  private static String httpsListener(String extra) {
    return """
        listeners:
          - name: https
            port: 10443
            protocol: https
        %s"""
        .formatted(extra);
  }

  private static String certificateA() {
    return """
        certificates:
          - name: a
            hosts: [a.example.test]
            certificateFile: a.example.test.pem
            privateKeyFile: a.example.test.key
        """;
  }

  private GatewaySettings parse(String yaml) {
    return GatewaySettingsLoader.parse(yaml, directory);
  }

  private GatewaySettingsLoader.Loaded load(String yaml) throws IOException {
    Path file = directory.resolve("gateway.yaml");
    Files.writeString(file, yaml);
    return GatewaySettingsLoader.load(file);
  }

  @Test
  void anHttpsListenerServesTheCertificatesReadFromTheirFiles() throws IOException {
    GatewaySettings settings = parse(httpsListener("") + certificateA());

    ListenerSpec listener = settings.listener("https").orElseThrow();
    assertThat(listener.protocol()).isEqualTo(ListenerSpec.Protocol.HTTPS);
    assertThat(listener.minTlsVersion()).isEqualTo(ListenerSpec.TlsVersion.TLS_1_2);
    CertificateSpec certificate = settings.certificates().get(0);
    assertThat(certificate.name()).isEqualTo("a");
    assertThat(certificate.hosts()).containsExactly("a.example.test");
    assertThat(certificate.certificateChainPem())
        .isEqualTo(Files.readString(directory.resolve("a.example.test.pem")));
    assertThat(certificate.privateKeyPem().reveal()).isEqualTo(keyA);
  }

  @Test
  void theKeyNeverPrints() {
    GatewaySettings settings = parse(httpsListener("") + certificateA());

    assertThat(settings.certificates().get(0).privateKeyPem()).hasToString("[redacted]");
    assertThat(settings.toString()).doesNotContain(keyA.lines().skip(1).findFirst().orElseThrow());
  }

  @Test
  void theCertificateAndKeyFilesAreWatchedForRotation() throws IOException {
    GatewaySettingsLoader.Loaded loaded = load(httpsListener("") + certificateA());

    assertThat(loaded.files())
        .contains(directory.resolve("a.example.test.pem"), directory.resolve("a.example.test.key"));
  }

  @Test
  void certificatesKeepTheirDeclaredOrderSoTheFirstIsTheDefault() {
    GatewaySettings settings =
        parse(
            httpsListener("")
                + """
        certificates:
          - name: zulu
            hosts: [b.example.test, "*.b.example.test"]
            certificateFile: b.example.test.pem
            privateKeyFile: b.example.test.key
          - name: alpha
            hosts: [a.example.test]
            certificateFile: a.example.test.pem
            privateKeyFile: a.example.test.key
        """);

    assertThat(settings.certificates())
        .extracting(CertificateSpec::name)
        .containsExactly("zulu", "alpha");
    assertThat(settings.certificates().get(0).hosts())
        .containsExactly("b.example.test", "*.b.example.test");
  }

  @ParameterizedTest
  @CsvSource({"1.2, TLS_1_2", "1.3, TLS_1_3", "TLSv1.3, TLS_1_3", "TLS_1_2, TLS_1_2"})
  void theMinimumTlsVersionIsConfigurable(String written, ListenerSpec.TlsVersion expected) {
    GatewaySettings settings =
        parse(httpsListener("    minTlsVersion: \"" + written + "\"\n") + certificateA());

    assertThat(settings.listener("https").orElseThrow().minTlsVersion()).isEqualTo(expected);
  }

  @ParameterizedTest
  @ValueSource(strings = {"1.1", "1.0", "SSLv3", "1.4"})
  void olderOrUnknownTlsVersionsAreRejected(String written) {
    assertThatThrownBy(
            () -> parse(httpsListener("    minTlsVersion: \"" + written + "\"\n") + certificateA()))
        .isInstanceOf(InvalidSettingsException.class)
        .hasMessageStartingWith("listeners[0].minTlsVersion");
  }

  @Test
  void aMinimumTlsVersionOnAPlaintextListenerIsAMistake() {
    assertThatThrownBy(
            () ->
                parse(
                    """
        listeners:
          - name: http
            port: 10080
            minTlsVersion: "1.3"
        """))
        .isInstanceOf(InvalidSettingsException.class)
        .hasMessageStartingWith("listeners[0].minTlsVersion");
  }

  @Test
  void aPlaintextListenerMayRedirectToTheHttpsListener() {
    GatewaySettings settings =
        parse(
            """
        listeners:
          - name: http
            port: 10080
            redirectToHttps: true
          - name: https
            port: 10443
            protocol: https
        """
                + certificateA());

    assertThat(settings.listener("http").orElseThrow().redirectToHttps()).isTrue();
  }

  @Test
  void aRedirectNeedsAnHttpsListener() {
    assertThatThrownBy(
            () ->
                parse(
                    """
        listeners:
          - name: http
            port: 10080
            redirectToHttps: true
        """))
        .isInstanceOf(InvalidSettingsException.class)
        .hasMessageStartingWith("listeners[0].redirectToHttps");
  }

  @Test
  void anHttpsListenerCannotRedirect() {
    assertThatThrownBy(() -> parse(httpsListener("    redirectToHttps: true\n") + certificateA()))
        .isInstanceOf(InvalidSettingsException.class)
        .hasMessageStartingWith("listeners[0].redirectToHttps");
  }

  @Test
  void anHttpsListenerNeedsACertificate() {
    assertThatThrownBy(() -> parse(httpsListener("")))
        .isInstanceOf(InvalidSettingsException.class)
        .hasMessageStartingWith("certificates");
  }

  @Test
  void aMissingCertificateFileIsNamed() {
    assertThatThrownBy(
            () ->
                parse(httpsListener("") + certificateA().replace("a.example.test.pem", "gone.pem")))
        .isInstanceOf(InvalidSettingsException.class)
        .hasMessageStartingWith("certificates[0].certificateFile")
        .hasMessageContaining("gone.pem");
  }

  @Test
  void aCertificateFileWithoutACertificateIsRejected() throws IOException {
    Files.writeString(directory.resolve("a.example.test.pem"), "not a certificate\n");

    assertThatThrownBy(() -> parse(httpsListener("") + certificateA()))
        .isInstanceOf(InvalidSettingsException.class)
        .hasMessageStartingWith("certificates[0].certificateFile");
  }

  @Test
  void aKeyFileThatHoldsNoKeyIsRejectedWithoutEchoingIt() throws IOException {
    // A certificate where the key should be: the message must not repeat what the file holds.
    String certificate = Files.readString(directory.resolve("a.example.test.pem"));
    Files.writeString(directory.resolve("a.example.test.key"), certificate);

    assertThatThrownBy(() -> parse(httpsListener("") + certificateA()))
        .isInstanceOf(InvalidSettingsException.class)
        .hasMessageStartingWith("certificates[0].privateKeyFile")
        .satisfies(
            e ->
                assertThat(e.getMessage())
                    .doesNotContain(certificate.lines().skip(1).findFirst().orElseThrow()));
  }

  @Test
  void anErrorAboutACertificateNeverContainsItsKey() {
    // The key file is valid, the host is not: whatever the message says, it must not carry the key.
    assertThatThrownBy(
            () ->
                parse(
                    httpsListener("") + certificateA().replace("[a.example.test]", "[A.Example]")))
        .isInstanceOf(InvalidSettingsException.class)
        .hasMessageStartingWith("certificates[0].hosts[0]")
        .satisfies(
            e ->
                assertThat(e.getMessage())
                    .doesNotContain(keyA.lines().skip(1).findFirst().orElseThrow()));
  }

  @ParameterizedTest
  @ValueSource(strings = {"A.example.test", "exa mple.test", "'*'", "a.*.example.test", "''"})
  void certificateHostsMustBeLowercaseNamesOrWildcards(String host) {
    assertThatThrownBy(
            () ->
                parse(
                    httpsListener("")
                        + certificateA().replace("[a.example.test]", "[" + host + "]")))
        .isInstanceOf(InvalidSettingsException.class)
        .hasMessageStartingWith("certificates[0].hosts[0]");
  }

  @Test
  void aCertificateNeedsHosts() {
    assertThatThrownBy(
            () -> parse(httpsListener("") + certificateA().replace("[a.example.test]", "[]")))
        .isInstanceOf(InvalidSettingsException.class)
        .hasMessageStartingWith("certificates[0].hosts");
  }

  @Test
  void certificateNamesAreUnique() {
    assertThatThrownBy(
            () ->
                parse(
                    httpsListener("")
                        + certificateA()
                        + """
          - name: a
            hosts: [b.example.test]
            certificateFile: b.example.test.pem
            privateKeyFile: b.example.test.key
        """))
        .isInstanceOf(InvalidSettingsException.class)
        .hasMessageStartingWith("certificates[1].name");
  }

  @Test
  void aHostServedByTwoCertificatesIsRejected() {
    assertThatThrownBy(
            () ->
                parse(
                    httpsListener("")
                        + certificateA()
                        + """
          - name: b
            hosts: [b.example.test, a.example.test]
            certificateFile: b.example.test.pem
            privateKeyFile: b.example.test.key
        """))
        .isInstanceOf(InvalidSettingsException.class)
        .hasMessageStartingWith("certificates[1].hosts[1]");
  }

  @Test
  void aKeyThatIsNotTheCertificatesIsRejectedNamingTheKeyFileButNotItsContent() {
    assertThatThrownBy(
            () ->
                parse(
                    httpsListener("")
                        + """
        certificates:
          - name: a
            hosts: [a.example.test]
            certificateFile: a.example.test.pem
            privateKeyFile: b.example.test.key
        """))
        .isInstanceOf(InvalidSettingsException.class)
        .hasMessageStartingWith("certificates[0].privateKeyFile: ")
        .hasMessageContaining("is not the private key of")
        .hasMessageNotContaining("PRIVATE KEY");
  }

  @Test
  void upstreamClientCertificatesAreReadWatchedAndNamedForRegistrations() throws IOException {
    GatewaySettingsLoader.Loaded loaded =
        load(
            """
            upstreams:
              clientCertificates:
                - name: gateway
                  services: [billing, ledger]
                  certificateFile: a.example.test.pem
                  privateKeyFile: a.example.test.key
            """);

    CertificateSpec client = loaded.settings().upstreamClientCertificates().get(0);
    assertThat(client.name()).isEqualTo("gateway");
    assertThat(client.hosts()).isEmpty();
    assertThat(client.privateKeyPem().reveal()).isEqualTo(keyA);
    assertThat(loaded.files())
        .as("rotated when the files change")
        .contains(directory.resolve("a.example.test.pem"), directory.resolve("a.example.test.key"));
    assertThat(
            GatewaySettings.registrationRules(loaded::settings)
                .upstreamClientCertificatesFor("ledger"))
        .containsExactly("gateway");
    assertThat(
            GatewaySettings.registrationRules(loaded::settings)
                .upstreamClientCertificatesFor("orders"))
        .as("granted to billing and ledger only")
        .isEmpty();
  }

  @Test
  void anUpstreamClientCertificateNamesTheServicesItIsGrantedToOrEveryServiceExplicitly()
      throws IOException {
    assertThatThrownBy(
            () ->
                parse(
                    """
                    upstreams:
                      clientCertificates:
                        - name: gateway
                          certificateFile: a.example.test.pem
                          privateKeyFile: a.example.test.key
                    """))
        .hasMessage(
            "upstreams.clientCertificates[0].services: is required: the services whose"
                + " registrations may name it ('*' for every service)");
    assertThatThrownBy(
            () ->
                parse(
                    """
                    upstreams:
                      clientCertificates:
                        - name: gateway
                          services: [Billing]
                          certificateFile: a.example.test.pem
                          privateKeyFile: a.example.test.key
                    """))
        .hasMessageStartingWith("upstreams.clientCertificates[0].services[0]: ");
    GatewaySettingsLoader.Loaded everyService =
        load(
            """
            upstreams:
              clientCertificates:
                - name: gateway
                  services: ["*"]
                  certificateFile: a.example.test.pem
                  privateKeyFile: a.example.test.key
            """);
    assertThat(
            GatewaySettings.registrationRules(everyService::settings)
                .upstreamClientCertificatesFor("orders"))
        .containsExactly("gateway");
  }

  @Test
  void anUpstreamClientCertificateServesNoHostsAndItsKeyMustFit() {
    assertThatThrownBy(
            () ->
                parse(
                    """
                    upstreams:
                      clientCertificates:
                        - name: gateway
                          services: [billing]
                          hosts: [a.example.test]
                          certificateFile: a.example.test.pem
                          privateKeyFile: a.example.test.key
                    """))
        .hasMessageContaining("upstreams.clientCertificates[0].hosts");
    assertThatThrownBy(
            () ->
                parse(
                    """
                    upstreams:
                      clientCertificates:
                        - name: gateway
                          services: [billing]
                          certificateFile: a.example.test.pem
                          privateKeyFile: b.example.test.key
                    """))
        .hasMessageContaining("upstreams.clientCertificates[0].privateKeyFile")
        .hasMessageNotContaining("PRIVATE KEY");
  }
}
