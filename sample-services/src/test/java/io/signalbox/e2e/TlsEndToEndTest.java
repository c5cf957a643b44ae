package io.signalbox.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.signalbox.ca.IssuedCertificate;
import io.signalbox.client.Routes;
import io.signalbox.testing.EnvoyLogsOnFailure;
import io.signalbox.testing.EnvoyProcess;
import io.signalbox.testing.EnvoyProcess.XdsMode;
import io.signalbox.testing.FreePorts;
import io.signalbox.testing.HttpProbe;
import io.signalbox.testing.TestCertificates;
import io.signalbox.translate.XdsJson;
import io.signalbox.translate.XdsNames;
import io.signalbox.xds.ContentVersionedSnapshot;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import javax.net.ssl.SSLException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * TLS termination through a real Envoy, over state-of-the-world and delta xDS: certificates from a
 * settings file reach Envoy as SDS secrets, SNI picks the certificate, the minimum TLS version
 * holds, the plaintext listener redirects, and replacing the certificate files rotates the
 * certificate without touching the listener.
 *
 * <p>A test CA issues every certificate, with serial numbers the test chooses, so a client can tell
 * which one Envoy presented. One gateway per xDS mode serves the tests that only read; rotation
 * gets a gateway of its own.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@ExtendWith(EnvoyLogsOnFailure.class)
class TlsEndToEndTest {

  private static final Duration PROPAGATION = Duration.ofSeconds(10);
  private static final Duration SETTINGS_POLL = Duration.ofMillis(200);
  private static final Duration DRAIN_TIME_AND_MARGIN = Duration.ofMillis(1500);
  private static final String HOST_A = "a.example.test";
  private static final String HOST_B = "b.example.test";
  private static final String SERVICE = "tls-echo";
  private static final ObjectMapper JSON = new ObjectMapper();

  private final AtomicLong serials = new AtomicLong(1000);
  private final TestCertificates.Authority authority =
      TestCertificates.authority("Signalbox TLS test CA");
  private final TlsClient client = TlsClient.trusting(authority.certificate());
  private final Map<XdsMode, TlsGateway> sharedGateways = new EnumMap<>(XdsMode.class);
  private final List<IssuedCertificate> everyIssued = new ArrayList<>();
  private TlsLogCapture logs;

  @BeforeAll
  void captureLogs() {
    logs = TlsLogCapture.start();
  }

  @AfterAll
  void stopGateways() {
    sharedGateways.values().forEach(TlsGateway::close);
    if (logs != null) {
      logs.close();
    }
  }

  @ParameterizedTest
  @EnumSource(XdsMode.class)
  void tls12AndTls13ClientsAreBothServed(XdsMode mode) throws IOException {
    TlsGateway gateway = sharedGateway(mode);

    for (String version : List.of("TLSv1.2", "TLSv1.3")) {
      try (TlsClient.Connection connection =
          client.onlyProtocols(version).connect(gateway.httpsPort, HOST_A)) {
        TlsClient.Response response = connection.get(HOST_A, "/echo/" + version);

        assertThat(connection.protocol()).isEqualTo(version);
        assertThat(response.status()).as("GET over %s", version).isEqualTo(200);
        assertThat(response.body())
            .contains("\"service\":\"" + SERVICE + "\"")
            .contains("\"path\":\"/echo/" + version + "\"")
            .contains("\"x-forwarded-proto\":\"https\"");
      }
    }
  }

  @ParameterizedTest
  @EnumSource(XdsMode.class)
  void alpnSettlesOnHttp2WhenTheClientOffersIt(XdsMode mode) throws IOException {
    TlsGateway gateway = sharedGateway(mode);

    try (TlsClient.Connection h2 =
            client.offeringAlpn("h2", "http/1.1").connect(gateway.httpsPort, HOST_A);
        TlsClient.Connection http11 =
            client.offeringAlpn("http/1.1").connect(gateway.httpsPort, HOST_A)) {
      assertThat(h2.applicationProtocol()).isEqualTo("h2");
      assertThat(http11.applicationProtocol()).isEqualTo("http/1.1");
      assertThat(http11.get(HOST_A, "/echo/alpn").status()).isEqualTo(200);
    }
  }

  @ParameterizedTest
  @EnumSource(XdsMode.class)
  void theSniNameChoosesTheCertificate(XdsMode mode) throws IOException {
    TlsGateway gateway = sharedGateway(mode);

    try (TlsClient.Connection a = client.connect(gateway.httpsPort, HOST_A);
        TlsClient.Connection b = client.connect(gateway.httpsPort, HOST_B)) {
      assertThat(a.serverCertificate().getSerialNumber()).isEqualTo(gateway.certificateA.serial());
      assertThat(b.serverCertificate().getSerialNumber()).isEqualTo(gateway.certificateB.serial());
      assertThat(a.serverCertificate().getSubjectX500Principal().getName())
          .isEqualTo("CN=" + HOST_A);
      assertThat(b.serverCertificate().getSubjectX500Principal().getName())
          .isEqualTo("CN=" + HOST_B);
      assertThat(a.get(HOST_A, "/echo/a").status()).isEqualTo(200);
      assertThat(b.get(HOST_B, "/echo/b").status()).isEqualTo(200);
    }
  }

  @ParameterizedTest
  @EnumSource(XdsMode.class)
  void clientsWithoutSniOrWithAnUnknownNameGetTheFirstCertificate(XdsMode mode) throws IOException {
    TlsGateway gateway = sharedGateway(mode);

    try (TlsClient.Connection noSni = client.connectWithoutSni(gateway.httpsPort);
        TlsClient.Connection unknown =
            client.connectWithoutHostCheck(gateway.httpsPort, "c.example.test")) {
      assertThat(noSni.serverCertificate().getSerialNumber())
          .isEqualTo(gateway.certificateA.serial());
      assertThat(unknown.serverCertificate().getSerialNumber())
          .isEqualTo(gateway.certificateA.serial());
      assertThat(noSni.get(HOST_A, "/echo/no-sni").status()).isEqualTo(200);
    }
  }

  @ParameterizedTest
  @EnumSource(XdsMode.class)
  void aListenerRequiringTls13RefusesTls12Clients(XdsMode mode) throws IOException {
    TlsGateway gateway = sharedGateway(mode);

    assertThatThrownBy(
            () -> client.onlyProtocols("TLSv1.2").connect(gateway.strictHttpsPort, HOST_A).close())
        .isInstanceOf(SSLException.class);
    try (TlsClient.Connection connection = client.connect(gateway.strictHttpsPort, HOST_A)) {
      assertThat(connection.protocol()).isEqualTo("TLSv1.3");
      assertThat(connection.get(HOST_A, "/echo/strict").status()).isEqualTo(200);
    }
  }

  @ParameterizedTest
  @EnumSource(XdsMode.class)
  void thePlaintextListenerRedirectsEveryRequestToHttps(XdsMode mode) {
    TlsGateway gateway = sharedGateway(mode);

    HttpProbe.Response response =
        HttpProbe.get(
            "http://127.0.0.1:" + gateway.httpPort + "/echo/x?page=2",
            Map.of("Host", HOST_A + ":" + gateway.httpPort));

    assertThat(response.status()).isEqualTo(301);
    assertThat(response.headers().firstValue("location"))
        .hasValue("https://" + HOST_A + ":" + gateway.httpsPort + "/echo/x?page=2");
  }

  @ParameterizedTest
  @EnumSource(XdsMode.class)
  void privateKeysAppearInNoLogAndNoDump(XdsMode mode) {
    TlsGateway gateway = sharedGateway(mode);

    assertNoPrivateKeyIn(gateway);
  }

  /**
   * The operator replaces the files of a.example.test: first the certificate alone (which does not
   * match the old key, so the settings loader refuses that version and Envoy keeps serving the old
   * pair), then the key. New connections get the new certificate; a connection opened before keeps
   * serving, and the listener is never modified, so nothing drains.
   */
  @ParameterizedTest
  @EnumSource(XdsMode.class)
  void replacingTheCertificateFilesRotatesTheCertificateWithoutTouchingTheListener(XdsMode mode)
      throws IOException {
    try (TlsGateway gateway = startGateway(mode)) {
      EnvoyProcess envoy = gateway.fixture.envoy();
      long listenersModified = envoy.statValue("listener_manager.listener_modified");
      String listenerState = activeListener(envoy, "https");
      long nacks = gateway.fixture.controlPlane().xdsCallbacks().nackCount();
      try (TlsClient.Connection before = client.connect(gateway.httpsPort, HOST_A)) {
        assertThat(before.get(HOST_A, "/echo/before").status()).isEqualTo(200);
        assertThat(before.serverCertificate().getSerialNumber())
            .isEqualTo(gateway.certificateA.serial());

        IssuedCertificate rotated = issue(HOST_A);
        TestCertificates.replace(gateway.certificateFile("a"), rotated.certificatePem());
        // A certificate without its key never reaches Envoy: the old pair keeps serving, and
        // nothing is NACKed.
        await("the old certificate to stay while its key does not match")
            .during(SETTINGS_POLL.multipliedBy(5))
            .atMost(SETTINGS_POLL.multipliedBy(10))
            .until(() -> serialServedFor(gateway, HOST_A), gateway.certificateA.serial()::equals);
        assertThat(gateway.fixture.controlPlane().xdsCallbacks().nackCount()).isEqualTo(nacks);

        TestCertificates.replace(gateway.privateKeyFile("a"), rotated.privateKeyPem());
        await("the rotated certificate to be served on new connections")
            .atMost(PROPAGATION)
            .ignoreExceptions()
            .until(() -> serialServedFor(gateway, HOST_A), rotated.serial()::equals);
        // A drained connection would be closed by now: the test Envoys drain for 1 s
        // (--drain-time-s).
        sleep(DRAIN_TIME_AND_MARGIN);

        TlsClient.Response afterRotation = before.get(HOST_A, "/echo/after");
        assertThat(afterRotation.status()).isEqualTo(200);
        assertThat(afterRotation.header("connection"))
            .as("the old connection is not being drained")
            .isEmpty();
        assertThat(serialServedFor(gateway, HOST_B)).isEqualTo(gateway.certificateB.serial());
      }
      assertThat(envoy.statValue("listener_manager.listener_modified"))
          .isEqualTo(listenersModified);
      assertThat(activeListener(envoy, "https"))
          .as("the https listener, its version and last update")
          .isEqualTo(listenerState);
      assertNoPrivateKeyIn(gateway);
    }
  }

  /**
   * A listener's {@code active_state} in Envoy's config dump: the listener, its version_info and
   * last_updated.
   */
  private static String activeListener(EnvoyProcess envoy, String name) throws IOException {
    JsonNode dump = JSON.readTree(envoy.adminGet("/config_dump?resource=dynamic_listeners"));
    for (JsonNode listener : dump.path("configs")) {
      if (listener.path("name").asText().equals(name)) {
        assertThat(listener.has("warming_state") || listener.has("draining_state"))
            .as("listener %s settled", name)
            .isFalse();
        return listener.path("active_state").toString();
      }
    }
    throw new AssertionError("Envoy has no dynamic listener " + name + ": " + dump);
  }

  private static void sleep(Duration duration) {
    try {
      Thread.sleep(duration.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  private BigInteger serialServedFor(TlsGateway gateway, String host) throws IOException {
    try (TlsClient.Connection connection = client.connect(gateway.httpsPort, host)) {
      return connection.serverCertificate().getSerialNumber();
    }
  }

  /**
   * No line of any private key this test made is in a log line, the control plane's printed
   * snapshot or Envoy's.
   */
  private void assertNoPrivateKeyIn(TlsGateway gateway) {
    ContentVersionedSnapshot snapshot = gateway.fixture.controlPlane().publisher().current();
    List<String> printed = new ArrayList<>();
    snapshot.secrets().resources().values().forEach(secret -> printed.add(XdsJson.print(secret)));
    snapshot
        .listeners()
        .resources()
        .values()
        .forEach(listener -> printed.add(XdsJson.print(listener)));
    String envoyDump = gateway.fixture.envoy().adminGet("/config_dump");
    List<String> logLines = logs.lines();

    assertThat(snapshot.secrets().resources()).containsKey(XdsNames.certificateSecret("a"));
    assertThat(printed).anySatisfy(text -> assertThat(text).contains(XdsJson.REDACTED));
    assertThat(envoyDump).contains(XdsNames.certificateSecret("a"));
    assertThat(logLines).isNotEmpty();
    List<String> keyLines;
    synchronized (everyIssued) {
      keyLines =
          everyIssued.stream().flatMap(issued -> base64Lines(issued.privateKeyPem())).toList();
    }
    for (String keyLine : keyLines) {
      assertThat(printed).noneMatch(text -> text.contains(keyLine));
      assertThat(envoyDump).doesNotContain(keyLine);
      assertThat(logLines).noneMatch(line -> line.contains(keyLine));
    }
  }

  private static Stream<String> base64Lines(String pem) {
    return pem.lines().filter(line -> !line.startsWith("-----") && line.length() >= 16);
  }

  private TlsGateway sharedGateway(XdsMode mode) {
    return sharedGateways.computeIfAbsent(mode, this::startGateway);
  }

  private IssuedCertificate issue(String host) {
    IssuedCertificate issued = authority.issue(BigInteger.valueOf(serials.incrementAndGet()), host);
    synchronized (everyIssued) {
      everyIssued.add(issued);
    }
    return issued;
  }

  /**
   * A control plane reading a settings file of this test's making (plaintext listener redirecting
   * to HTTPS, an HTTPS listener, an HTTPS listener requiring TLS 1.3, certificates for a and b),
   * one Envoy, and an echo service on /echo, ready to serve over HTTPS.
   */
  private TlsGateway startGateway(XdsMode mode) {
    try {
      Path directory = Files.createTempDirectory("signalbox-tls-");
      IssuedCertificate a = issue(HOST_A);
      IssuedCertificate b = issue(HOST_B);
      List<Integer> ports = FreePorts.allocate(3);
      TlsGateway gateway =
          new TlsGateway(directory, ports.get(0), ports.get(1), ports.get(2), a, b);
      a.writeTo(gateway.certificateFile("a"), gateway.privateKeyFile("a"));
      b.writeTo(gateway.certificateFile("b"), gateway.privateKeyFile("b"));
      Path settings = directory.resolve("gateway.yaml");
      Files.writeString(
          settings,
          """
          listeners:
            - name: http
              address: 127.0.0.1
              port: %d
              redirectToHttps: true
            - name: https
              address: 127.0.0.1
              port: %d
              protocol: https
            - name: https-strict
              address: 127.0.0.1
              port: %d
              protocol: https
              minTlsVersion: "1.3"
          certificates:
            - name: a
              hosts: [%s]
              certificateFile: a.pem
              privateKeyFile: a.key
            - name: b
              hosts: [%s]
              certificateFile: b.pem
              privateKeyFile: b.key
          upstreams: {allowCidrs: [127.0.0.0/8]}
          """
              .formatted(
                  gateway.httpPort, gateway.httpsPort, gateway.strictHttpsPort, HOST_A, HOST_B));
      gateway.fixture =
          GatewayFixture.start(
              mode, config -> config.settingsFile(settings).settingsPollInterval(SETTINGS_POLL));
      gateway.fixture.serve(SERVICE, SERVICE + "-1", Routes.prefix("/echo"));
      await("the echo service to answer over HTTPS")
          .atMost(PROPAGATION)
          .ignoreExceptions()
          .until(
              () -> {
                try (TlsClient.Connection connection = client.connect(gateway.httpsPort, HOST_A)) {
                  return connection.get(HOST_A, "/echo/ready").status() == 200;
                }
              });
      return gateway;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** A gateway of this test: its fixture, its files and its ports. */
  private static final class TlsGateway implements AutoCloseable {
    final Path directory;
    final int httpPort;
    final int httpsPort;
    final int strictHttpsPort;
    final IssuedCertificate certificateA;
    final IssuedCertificate certificateB;
    GatewayFixture fixture;

    TlsGateway(
        Path directory,
        int httpPort,
        int httpsPort,
        int strictHttpsPort,
        IssuedCertificate a,
        IssuedCertificate b) {
      this.directory = directory;
      this.httpPort = httpPort;
      this.httpsPort = httpsPort;
      this.strictHttpsPort = strictHttpsPort;
      this.certificateA = a;
      this.certificateB = b;
    }

    Path certificateFile(String name) {
      return directory.resolve(name + ".pem");
    }

    Path privateKeyFile(String name) {
      return directory.resolve(name + ".key");
    }

    @Override
    public void close() {
      if (fixture != null) {
        fixture.close();
      }
      try (Stream<Path> files = Files.walk(directory)) {
        files.sorted(Comparator.reverseOrder()).forEach(file -> file.toFile().delete());
      } catch (IOException ignored) {
        // A temporary directory left behind is harmless.
      }
    }
  }
}
