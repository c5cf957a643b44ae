package io.signalbox.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.signalbox.model.AuthRequirement;
import io.signalbox.model.RateLimit;
import io.signalbox.testing.TestCertificates;
import java.io.IOException;
import java.math.BigInteger;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class GatewaySettingsLoaderTest {

  private static final String JWKS =
      "{\"keys\": [{\"kty\": \"EC\", \"crv\": \"P-256\", \"x\": \"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\", \"y\": \"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"}]}";

  @TempDir Path dir;

  /** Writes NAME.crt and NAME.key: a throwaway certificate for host NAME. */
  private void writeSelfSignedCertificate(String name) {
    TestCertificates.authority("loader test CA")
        .issue(BigInteger.ONE, name)
        .writeTo(dir.resolve(name + ".crt"), dir.resolve(name + ".key"));
  }

  private GatewaySettings parse(String yaml) {
    return GatewaySettingsLoader.parse(yaml, dir);
  }

  @Nested
  class Defaults {

    @Test
    void anEmptyFileMeansOnePlaintextListenerOnPort10000() {
      GatewaySettings settings = parse("");

      assertThat(settings.listeners()).containsExactly(ListenerSpec.http("http", "0.0.0.0", 10000));
      assertThat(settings.jwtProviders()).isEmpty();
      assertThat(settings.defaults()).isEqualTo(PolicyDefaults.NONE);
      assertThat(settings.limits()).isEqualTo(GatewayLimits.DEFAULT);
      assertThat(settings.rateLimitService()).isEqualTo(RateLimitServiceSpec.BUILT_IN);
      assertThat(settings.sidecars()).isEqualTo(new SidecarSettings("127.0.0.1", 15001));
    }

    @Test
    void sidecarsCallOutThroughTheAddressAndPortGiven() {
      assertThat(parse("sidecars: {outboundAddress: 127.0.0.2, outboundPort: 16001}").sidecars())
          .isEqualTo(new SidecarSettings("127.0.0.2", 16001));
      assertThat(parse("sidecars: {outboundPort: 16001}").sidecars())
          .isEqualTo(new SidecarSettings("127.0.0.1", 16001));
      assertThat(parse("sidecars: {certificateValidity: 10m}").sidecars().certificateValidity())
          .isEqualTo(java.time.Duration.ofMinutes(10));
      assertThat(parse("sidecars: {domain: svc.example.com}").sidecars().domain())
          .contains("svc.example.com");
      assertThat(parse("sidecars: {outboundPort: 16001}").sidecars().domain()).isEmpty();
      org.assertj.core.api.Assertions.assertThatThrownBy(
              () -> SidecarSettings.DEFAULT.withDomain("Svc.Example.com"))
          .as("settings made in code are held to the file's rule")
          .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void aListenerNeedsOnlyANameAndAPort() {
      GatewaySettings settings = parse("listeners: [{name: public, port: 8080}]");

      assertThat(settings.listeners())
          .containsExactly(ListenerSpec.http("public", "0.0.0.0", 8080));
    }
  }

  @Nested
  class AFullFile {

    @Test
    void readsListenersProvidersDefaultsLimitsAndTheRateLimitService() throws IOException {
      Files.writeString(dir.resolve("keys.json"), JWKS);
      GatewaySettings settings =
          parse(
              """
          listeners:
            - {name: http, address: 127.0.0.1, port: 8080}
          jwtProviders:
            - name: corp
              issuer: https://login.example.com
              audiences: [api]
              forwardToken: true
              jwks: {file: keys.json}
            - name: partner
              issuer: https://partner.example.com
              anyAudience: true
              jwks: {remote: {uri: "https://partner.example.com/.well-known/jwks.json", cacheDuration: 10m, timeout: 2s}}
          defaults:
            auth: {provider: corp, requiredScopes: [read]}
            rateLimit: {requests: 100, unit: SECOND}
            rateLimitFailureMode: deny
          limits:
            maxRoutesPerService: 20
            maxRequestHeadersKb: 96
            upstreamConnectTimeout: 250ms
            maxRegexProgramSize: 300
            maxRetries: 2
            maxRouteTimeout: 30s
            maxServices: 500
            maxInstancesPerService: 20
            maxServicesPerIdentity: 3
            maxInstancesPerIdentity: 30
            maxHosts: 40
          rateLimitService: {address: "ratelimit.internal:8081", timeout: 50ms, counterMemory: 64MiB}
          """);

      assertThat(settings.jwtProvider("corp"))
          .hasValue(
              JwtProviderSpec.builder("corp", "https://login.example.com")
                  .audiences("api")
                  .jwks(new JwtProviderSpec.FileJwks(dir.resolve("keys.json"), JWKS))
                  .forwardToken(true)
                  .build());
      assertThat(settings.jwtProvider("partner").orElseThrow().jwks())
          .isEqualTo(
              new JwtProviderSpec.RemoteJwks(
                  URI.create("https://partner.example.com/.well-known/jwks.json"),
                  Duration.ofMinutes(10),
                  Duration.ofSeconds(2)));
      assertThat(settings.defaults())
          .isEqualTo(
              new PolicyDefaults(
                  Optional.of(new AuthRequirement("corp", java.util.List.of("read"), null, null)),
                  Optional.of(RateLimit.local(100, RateLimit.Unit.SECOND)),
                  RateLimit.FailureMode.DENY));
      assertThat(settings.limits())
          .isEqualTo(
              new GatewayLimits(
                  20,
                  96,
                  Duration.ofMillis(250),
                  300,
                  new io.signalbox.model.RegistryQuotas(
                      500,
                      20,
                      3,
                      30,
                      40,
                      io.signalbox.model.RegistryQuotas.DEFAULT_MAX_REGISTRY_BYTES,
                      io.signalbox.model.RegistryQuotas.DEFAULT_MAX_PLACED_ROUTES),
                  2,
                  Duration.ofSeconds(30)));
      assertThat(settings.rateLimitService())
          .isEqualTo(
              new RateLimitServiceSpec(
                  Optional.of(new RateLimitServiceSpec.HostAndPort("ratelimit.internal", 8081)),
                  Duration.ofMillis(50),
                  64L << 20));
    }

    @Test
    void theRateLimitServicesCounterMemoryIn32MiBUnlessSetAndInBinaryUnits() {
      assertThat(parse("rateLimitService: {timeout: 50ms}").rateLimitService().counterMemoryBytes())
          .isEqualTo(32L << 20);
      assertThat(
              parse("rateLimitService: {counterMemory: 512KiB}")
                  .rateLimitService()
                  .counterMemoryBytes())
          .isEqualTo(512L << 10);
      assertThat(
              parse("rateLimitService: {counterMemory: 2GiB}")
                  .rateLimitService()
                  .counterMemoryBytes())
          .isEqualTo(2L << 30);
      assertThat(
              parse("rateLimitService: {counterMemory: '4096'}")
                  .rateLimitService()
                  .counterMemoryBytes())
          .isEqualTo(4096);
    }

    @Test
    void reportsTheFilesItReadSoTheWatcherCanWatchThem() throws IOException {
      Files.writeString(dir.resolve("keys.json"), JWKS);
      Path file = dir.resolve("gateway.yaml");
      Files.writeString(
          file,
          "jwtProviders: [{name: corp, issuer: x, anyAudience: true, jwks: {file: keys.json}}]");

      assertThat(GatewaySettingsLoader.load(file).files())
          .containsExactly(dir.resolve("keys.json"));
    }
  }

  /** An invalid file is rejected as a whole, and the message says where. */
  @Nested
  class Rejects {

    @Test
    void brokenYamlWithItsLine() {
      assertThatThrownBy(() -> parse("listeners:\n  - name: http\n    port: [\n"))
          .isInstanceOf(InvalidSettingsException.class)
          .hasMessageStartingWith("line ");
    }

    @Test
    void aMisspeltKeyWithItsLineAndPath() {
      assertThatThrownBy(() -> parse("listeners:\n  - name: http\n    prot: 8080\n"))
          .isInstanceOf(InvalidSettingsException.class)
          .hasMessageContaining("line 3")
          .hasMessageContaining("listeners[0]")
          .hasMessageContaining("prot");
    }

    @Test
    void aValueOfTheWrongTypeWithItsPath() {
      assertThatThrownBy(() -> parse("listeners: [{name: http, port: eighty}]"))
          .hasMessageContaining("listeners[0].port");
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(
        delimiter = '|',
        textBlock =
            """
        listeners: []                                                            | listeners: at least one listener
        listeners: [{name: http}]                                                | listeners[0].port: is required
        listeners: [{name: http, port: 70000}]                                   | listeners[0].port: 70000 is out of range
        listeners: [{name: Http, port: 80}]                                      | listeners[0].name
        listeners: [{name: a, port: 80}, {name: a, port: 81}]                    | listeners[1].name: 'a' is used twice
        listeners: [{name: a, port: 80}, {name: b, port: 80}]                    | listeners[1].port: 80 is used by another
        listeners: [{name: a, port: 80, address: example.com}]                   | listeners[0].address
        listeners: [{name: a, port: 80, protocol: ftp}]                          | listeners[0].protocol: 'ftp'
        listeners: [{name: a, port: 80, redirectToHttps: true}]                  | listeners[0].redirectToHttps: there is no https listener
        listeners: [{name: a, port: 80, minTlsVersion: '1.3'}]                   | listeners[0].minTlsVersion: applies only to https
        listeners: [{name: a, port: 443, protocol: https}]                       | certificates: an https listener needs at least one certificate
        jwtProviders: [{name: corp, jwks: {inline: '{"keys":[{}]}'}}]            | jwtProviders[0].issuer: is required
        jwtProviders: [{name: corp, issuer: x}]                                  | jwtProviders[0].jwks: is required
        jwtProviders: [{name: corp, issuer: x, jwks: {inline: 'nope'}}]          | jwtProviders[0].jwks.inline: not JSON
        jwtProviders: [{name: corp, issuer: x, jwks: {inline: '{"keys":[]}'}}]   | jwtProviders[0].jwks.inline: a JWKS needs a non-empty
        jwtProviders: [{name: corp, issuer: x, jwks: {file: missing.json}}]      | jwtProviders[0].jwks.file:
        jwtProviders: [{name: corp, issuer: x, jwks: {remote: {uri: 'ftp://h/k'}}}] | jwtProviders[0].jwks.remote.uri
        jwtProviders: [{name: corp, issuer: x, jwks: {remote: {uri: 'https://h/k', cacheDuration: 0s}}}] | jwtProviders[0].jwks.remote.cacheDuration: must be positive
        jwtProviders: [{name: corp, issuer: x, jwks: {remote: {uri: 'https://h/k', timeout: soon}}}] | jwtProviders[0].jwks.remote.timeout: 'soon' is not a duration
        defaults: {auth: {provider: nobody}}                                     | defaults.auth.provider: 'nobody' is not a JWT provider
        defaults: {rateLimit: {requests: 0, unit: SECOND}}                       | defaults.rateLimit.requests
        defaults: {rateLimit: {requests: 5, unit: FORTNIGHT}}                    | defaults.rateLimit
        defaults: {rateLimitFailureMode: maybe}                                  | defaults.rateLimitFailureMode: 'maybe'
        limits: {maxRoutesPerService: 500}                                       | limits.maxRoutesPerService: 500 is out of range
        limits: {maxRequestHeadersKb: 0}                                         | limits.maxRequestHeadersKb: 0 is out of range
        rateLimitService: {address: 'no-port'}                                   | rateLimitService.address: 'no-port' needs a port
        limits: {maxRegexProgramSize: 5}                                         | limits.maxRegexProgramSize: 5 is out of range 10-10000
        limits: {maxRetries: 11}                                                 | limits.maxRetries: 11 is out of range 0-10
        accessLog: {path: logs/access.log}                                       | accessLog.path: 'logs/access.log' is not stdout, stderr or an absolute path
        limits: {maxRouteTimeout: 2h}                                            | limits.maxRouteTimeout: 2h is longer than 1h
        limits: {maxServices: 0}                                                 | limits.maxServices: 0 is out of range 1-1000000
        limits: {maxRegistryBytes: 10KiB}                                        | limits.maxRegistryBytes: 10KiB is out of range 1MiB-64GiB
        upstreams: {allowCidrs: [127.0.0.0/33]}                                  | upstreams.allowCidrs[0]: '127.0.0.0/33' has a prefix length out of range 0-32
        upstreams: {denyCidrs: [10.0.0.0/8, internal]}                           | upstreams.denyCidrs[1]: 'internal' is not an IP address or CIDR range
        upstreams: {denyPorts: [9901, 70000]}                                    | upstreams.denyPorts[1]: 70000 is not a port
        rateLimitService: {counterMemory: 32MB}                                  | rateLimitService.counterMemory: '32MB' is not a size such as 512KiB
        rateLimitService: {counterMemory: 512}                                   | rateLimitService.counterMemory: 512 is out of range 1KiB-16GiB
        rateLimitService: {counterMemory: 17GiB}                                 | rateLimitService.counterMemory: 17GiB is out of range
        sidecars: {outboundAddress: localhost}                                   | sidecars.outboundAddress: 'localhost' is not an IP address
        sidecars: {outboundPort: 0}                                              | sidecars.outboundPort: 0 is not a port (1-65535)
        sidecars: {certificateValidity: 1s}                                      | sidecars.certificateValidity: 1s is out of range 2s-720h
        sidecars: {certificateValidity: 721h}                                    | sidecars.certificateValidity: 721h is out of range 2s-720h
        sidecars: {domain: Svc.Example.com}                                      | sidecars.domain: 'Svc.Example.com' is not a DNS domain of lower-case labels
        sidecars: {domain: "*.svc.example.com"}                                  | sidecars.domain: '*.svc.example.com' is not a DNS domain
        sidecars: {domain: svc..example.com}                                     | sidecars.domain: 'svc..example.com' is not a DNS domain
        sidecars: {domain: svc.example.com.}                                     | sidecars.domain: 'svc.example.com.' is not a DNS domain
        """)
    void anInvalidValueNamingItsField(String yaml, String message) {
      assertThatThrownBy(() -> parse(yaml))
          .isInstanceOf(InvalidSettingsException.class)
          .hasMessageContaining(message);
    }

    @Test
    void aCertificateFileThatIsNotACertificate() throws IOException {
      Files.writeString(dir.resolve("tls.crt"), "not a certificate");
      Files.writeString(
          dir.resolve("tls.key"), "-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----\n");

      assertThatThrownBy(
              () ->
                  parse(
                      """
          certificates: [{name: api, hosts: [api.example.com], certificateFile: tls.crt, privateKeyFile: tls.key}]
          """))
          .hasMessageContaining("certificates[0].certificateFile");
    }

    @Test
    void aHostServedByTwoCertificates() throws Exception {
      writeSelfSignedCertificate("a");
      writeSelfSignedCertificate("b");

      assertThatThrownBy(
              () ->
                  parse(
                      """
          certificates:
            - {name: a, hosts: [api.example.com], certificateFile: a.crt, privateKeyFile: a.key}
            - {name: b, hosts: [www.example.com, api.example.com], certificateFile: b.crt, privateKeyFile: b.key}
          """))
          .hasMessageContaining(
              "certificates[1].hosts[1]: 'api.example.com' is already served by certificate 'a'");
    }

    @Test
    void readsACertificateAndKeepsItsKeyOutOfToString() throws Exception {
      writeSelfSignedCertificate("api");

      GatewaySettings settings =
          parse(
              """
          listeners: [{name: https, port: 443, protocol: https, minTlsVersion: '1.3'}]
          certificates: [{name: api, hosts: [api.example.com], certificateFile: api.crt, privateKeyFile: api.key}]
          """);

      CertificateSpec certificate = settings.certificates().get(0);
      assertThat(certificate.certificateChainPem()).startsWith("-----BEGIN CERTIFICATE-----");
      assertThat(certificate.privateKeyPem().reveal()).contains("PRIVATE KEY");
      assertThat(settings.toString()).doesNotContain("PRIVATE KEY").contains("[redacted]");
      assertThat(settings.listeners().get(0).minTlsVersion())
          .isEqualTo(ListenerSpec.TlsVersion.TLS_1_3);
    }

    @Test
    void aKeyFileThatIsNotAKeyWithoutEchoingItsContent() throws IOException {
      Files.writeString(dir.resolve("tls.key"), "top-secret-material");

      assertThatThrownBy(
              () ->
                  parse(
                      """
          certificates: [{name: api, hosts: [api.example.com], certificateFile: tls.key, privateKeyFile: tls.key}]
          """))
          .isInstanceOf(InvalidSettingsException.class)
          .hasMessageNotContaining("top-secret-material");
    }
  }
}
