package io.signalbox.envoy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.signalbox.ca.CertificateUsage;
import io.signalbox.testing.EnvoyBinary;
import io.signalbox.testing.EnvoyLogsOnFailure;
import io.signalbox.testing.EnvoyProcess;
import io.signalbox.testing.EnvoyProcess.XdsMode;
import io.signalbox.testing.FreePorts;
import io.signalbox.testing.HttpProbe;
import io.signalbox.testing.TestCertificates;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

@ExtendWith(EnvoyLogsOnFailure.class)
class EnvoyBootstrapTest {

  private static final Path BOOTSTRAP_DIR = EnvoyBinary.repoRoot().resolve("envoy/bootstrap");
  private static final YAMLMapper YAML = new YAMLMapper();

  static Stream<Path> shippedBootstraps() throws IOException {
    try (Stream<Path> files = Files.list(BOOTSTRAP_DIR)) {
      return files.filter(file -> file.toString().endsWith(".yaml")).sorted().toList().stream();
    }
  }

  @Test
  void shipsAStateOfTheWorldAndADeltaEdgeGatewayBootstrap() throws IOException {
    assertThat(shippedBootstraps().map(file -> file.getFileName().toString()))
        .contains("edge-gateway.yaml", "edge-gateway-delta.yaml");
  }

  @ParameterizedTest
  @MethodSource("shippedBootstraps")
  void everyShippedBootstrapPassesEnvoyValidation(Path bootstrap, @TempDir Path dir)
      throws Exception {
    // Envoy reads the TLS files of the mutual-TLS bootstrap while validating: give it real ones
    // where it looks.
    TestCertificates.Authority ca = TestCertificates.authority("Signalbox Test CA");
    Files.writeString(dir.resolve("ca.pem"), ca.certificatePem());
    ca.issue(
            BigInteger.TWO,
            "CN=edge",
            List.of(CertificateUsage.CLIENT),
            "spiffe://signalbox.local/envoy/edge")
        .writeTo(dir.resolve("envoy.pem"), dir.resolve("envoy-key.pem"));
    ca.issue(
            BigInteger.valueOf(3),
            "CN=users-sidecar",
            List.of(CertificateUsage.CLIENT),
            "spiffe://signalbox.local/envoy/sidecar/users")
        .writeTo(dir.resolve("sidecar.pem"), dir.resolve("sidecar-key.pem"));
    Path validated =
        Files.writeString(
            dir.resolve(bootstrap.getFileName()),
            Files.readString(bootstrap).replace("/etc/signalbox/tls/", dir + "/"));
    Process validate =
        new ProcessBuilder(
                EnvoyBinary.path().toString(),
                "--mode",
                "validate",
                "--config-path",
                validated.toString())
            .redirectErrorStream(true)
            .start();
    String output = new String(validate.getInputStream().readAllBytes(), StandardCharsets.UTF_8);

    assertThat(validate.waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(validate.exitValue()).as("envoy --mode validate output:%n%s", output).isZero();
  }

  @Test
  void theMutualTlsBootstrapDiffersFromThePlaintextOneOnlyInTheXdsClustersTransportSocket()
      throws IOException {
    JsonNode plaintext = YAML.readTree(BOOTSTRAP_DIR.resolve("edge-gateway.yaml").toFile());
    JsonNode mtls = YAML.readTree(BOOTSTRAP_DIR.resolve("edge-gateway-mtls.yaml").toFile());
    JsonNode tls = mtls.at("/static_resources/clusters/0/transport_socket/typed_config");

    assertThat(tls.at("/common_tls_context/alpn_protocols/0").asText()).isEqualTo("h2");
    assertThat(tls.at("/common_tls_context/tls_certificates/0/certificate_chain/filename").asText())
        .isNotEmpty();
    assertThat(tls.at("/common_tls_context/validation_context/trusted_ca/filename").asText())
        .isNotEmpty();
    ((ObjectNode) mtls.at("/static_resources/clusters/0")).remove("transport_socket");
    assertThat(mtls).isEqualTo(plaintext);
  }

  /**
   * Envoy's node lists every extension it was built with, 61 KB at 1.40: sent with every request,
   * it made each ACK of a fleet's Envoys that large, and the control plane parse it.
   */
  @ParameterizedTest
  @MethodSource("shippedBootstraps")
  void everyShippedBootstrapSendsTheNodeInEachStreamsFirstRequestOnly(Path bootstrap)
      throws IOException {
    JsonNode adsConfig = YAML.readTree(bootstrap.toFile()).at("/dynamic_resources/ads_config");

    assertThat(adsConfig.at("/set_node_on_first_message_only").asBoolean()).isTrue();
  }

  @Test
  void deltaBootstrapDiffersFromTheStateOfTheWorldOneOnlyInItsAdsApiType() throws IOException {
    JsonNode sotw = YAML.readTree(BOOTSTRAP_DIR.resolve("edge-gateway.yaml").toFile());
    JsonNode delta = YAML.readTree(BOOTSTRAP_DIR.resolve("edge-gateway-delta.yaml").toFile());

    assertThat(sotw.at("/dynamic_resources/ads_config/api_type").asText()).isEqualTo("GRPC");
    assertThat(delta.at("/dynamic_resources/ads_config/api_type").asText()).isEqualTo("DELTA_GRPC");
    ((ObjectNode) delta.at("/dynamic_resources/ads_config")).put("api_type", "GRPC");
    assertThat(delta).isEqualTo(sotw);
  }

  @Test
  void harnessEnvoyAnswersOnItsAdminPortWithoutAControlPlaneAndStopsCleanly() {
    EnvoyProcess envoy =
        EnvoyProcess.builder()
            .nodeId("bootstrap-test-1")
            .nodeCluster("edge")
            .xdsPort(FreePorts.allocate())
            .start();
    try (envoy) {
      assertThat(envoy.adminGet("/server_info"))
          .contains("\"id\": \"bootstrap-test-1\"", "\"cluster\": \"edge\"", "/1.40.0/");
      // With nothing to answer LDS/CDS, Envoy waits out the initial fetch timeouts before it
      // reports ready.
      assertThat(HttpProbe.get(envoy.adminUrl() + "/ready").status()).isEqualTo(503);
      await()
          .atMost(Duration.ofSeconds(10))
          .untilAsserted(
              () ->
                  assertThat(envoy.statValue("cluster.signalbox-xds.upstream_cx_connect_fail"))
                      .isPositive());
    }

    assertThat(envoy.isAlive()).isFalse();
    assertThat(envoy.exitCode()).hasValue(0);
    envoy.close();
  }

  @Test
  void harnessEnvoysRunSideBySideWithTheirOwnAdminPortsXdsModesAndXdsEndpoints() {
    List<Integer> xdsPorts = FreePorts.allocate(2);
    try (EnvoyProcess sotw = EnvoyProcess.builder().xdsPort(xdsPorts.get(0)).start();
        EnvoyProcess delta =
            EnvoyProcess.builder()
                .nodeCluster("internal")
                .xdsMode(XdsMode.DELTA)
                .xdsPorts(xdsPorts)
                .start()) {
      assertThat(sotw.adminUrl()).isNotEqualTo(delta.adminUrl());
      assertThat(sotw.nodeId()).isNotEqualTo(delta.nodeId());

      assertThat(sotw.configDump()).contains("\"api_type\": \"GRPC\"");
      assertThat(delta.configDump())
          .contains("\"api_type\": \"DELTA_GRPC\"", "\"cluster\": \"internal\"")
          .contains("\"port_value\": " + xdsPorts.get(0), "\"port_value\": " + xdsPorts.get(1));
    }
  }
}
