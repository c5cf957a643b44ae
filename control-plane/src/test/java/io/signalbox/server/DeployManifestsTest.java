package io.signalbox.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLParser;
import io.signalbox.config.GatewaySettings;
import io.signalbox.config.GatewaySettingsLoader;
import io.signalbox.testing.EnvoyBinary;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * The deployment files in deploy/ say what Signalbox and Envoy accept: they are checked, not just
 * shipped.
 */
class DeployManifestsTest {

  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
  private static final Path DEPLOY = EnvoyBinary.repoRoot().resolve("deploy");

  @TempDir Path dir;

  @Test
  void everyArgumentGivenToSignalboxInTheKubernetesManifestsIsOneItAccepts() throws IOException {
    List<List<String>> argumentLists = new ArrayList<>();
    for (JsonNode document : documents("kubernetes/signalbox.yaml")) {
      if (document.path("kind").asText().equals("Deployment")) {
        for (JsonNode container : document.at("/spec/template/spec/containers")) {
          List<String> args = new ArrayList<>();
          container.path("args").forEach(arg -> args.add(arg.asText()));
          argumentLists.add(args);
        }
      }
    }

    assertThat(argumentLists).hasSize(1);
    CommandLine.ParseResult parsed =
        new CommandLine(new SignalboxMain()).parseArgs(argumentLists.get(0).toArray(String[]::new));
    Object store = parsed.matchedOptionValue("--store", null);
    assertThat(String.valueOf(store)).isEqualTo("etcd");
    assertThat(parsed.unmatched()).isEmpty();
    assertMutualTlsOnEveryPort(parsed);
    assertThat(parsed.hasMatchedOption("--insecure-plaintext")).isFalse();
  }

  @Test
  void theSystemdUnitStartsSignalboxWithArgumentsItAccepts() throws IOException {
    String unit = Files.readString(DEPLOY.resolve("systemd/signalbox.service"));
    String execStart =
        unit.lines()
            .dropWhile(line -> !line.startsWith("ExecStart="))
            .takeWhile(line -> !line.isBlank() && !line.startsWith("Restart"))
            .map(line -> line.endsWith("\\") ? line.substring(0, line.length() - 1) : line)
            .reduce("", (a, b) -> a + " " + b);
    String arguments =
        execStart.substring(execStart.indexOf("bin/signalbox") + "bin/signalbox".length()).trim();

    CommandLine.ParseResult parsed =
        new CommandLine(new SignalboxMain()).parseArgs(arguments.split("\\s+"));

    assertThat(parsed.unmatched()).isEmpty();
    assertThat(parsed.hasMatchedOption("--data-dir")).isTrue();
    assertMutualTlsOnEveryPort(parsed);
  }

  @Test
  void theComposeDemoStartsSignalboxWithArgumentsItAcceptsOnMutualTls() throws IOException {
    List<String> args = new ArrayList<>();
    YAML.readTree(DEPLOY.resolve("compose/compose.yaml").toFile())
        .at("/services/signalbox/command")
        .forEach(arg -> args.add(arg.asText()));

    CommandLine.ParseResult parsed =
        new CommandLine(new SignalboxMain()).parseArgs(args.toArray(String[]::new));

    assertThat(parsed.unmatched()).isEmpty();
    assertMutualTlsOnEveryPort(parsed);
    assertThat(parsed.hasMatchedOption("--insecure-plaintext")).isFalse();
  }

  @Test
  void theGatewaySettingsInTheConfigMapLoadAndListenWhereTheEnvoyPodsExposeTraffic()
      throws IOException {
    Path settings = dir.resolve("gateway.yaml");
    Files.writeString(
        settings, configMapEntry("kubernetes/signalbox.yaml", "signalbox-gateway", "gateway.yaml"));

    GatewaySettings loaded = GatewaySettingsLoader.load(settings).settings();

    JsonNode envoyPorts =
        deployment("kubernetes/envoy.yaml").at("/spec/template/spec/containers/0/ports");
    assertThat(loaded.listeners())
        .extracting(listener -> listener.port())
        .containsExactlyElementsOf(
            StreamSupport.stream(envoyPorts.spliterator(), false)
                .map(port -> port.path("containerPort").asInt())
                .toList());
  }

  @Test
  void theEnvoyBootstrapIsValidForEnvoyAndPointsAtTheSignalboxService() throws Exception {
    String bootstrap = configMapEntry("kubernetes/envoy.yaml", "envoy-bootstrap", "envoy.yaml");
    Path file = dir.resolve("envoy.yaml");
    Files.writeString(file, bootstrap);

    Process validate =
        new ProcessBuilder(
                EnvoyBinary.path().toString(),
                "--mode",
                "validate",
                "-c",
                file.toString(),
                "--service-node",
                "envoy-edge-0")
            .redirectErrorStream(true)
            .start();
    String output = new String(validate.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(validate.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(validate.exitValue()).as(output).isZero();
    // As every shipped bootstrap: the node, 61 KB of extensions, in each stream's first request.
    assertThat(
            YAML.readTree(bootstrap)
                .at("/dynamic_resources/ads_config/set_node_on_first_message_only")
                .asBoolean())
        .isTrue();

    JsonNode address =
        YAML.readTree(bootstrap)
            .at(
                "/static_resources/clusters/0/load_assignment/endpoints/0"
                    + "/lb_endpoints/0/endpoint/address/socket_address");
    JsonNode service =
        documents("kubernetes/signalbox.yaml").stream()
            .filter(d -> d.path("kind").asText().equals("Service"))
            .findFirst()
            .orElseThrow();
    assertThat(address.path("address").asText()).isEqualTo(service.at("/metadata/name").asText());
    assertThat(service.at("/spec/clusterIP").asText())
        .as("headless: DNS lists every replica")
        .isEqualTo("None");
    assertThat(address.path("port_value").asInt())
        .isEqualTo(service.at("/spec/ports/0/port").asInt());
  }

  private static List<JsonNode> documents(String file) throws IOException {
    List<JsonNode> documents = new ArrayList<>();
    try (YAMLParser parser = new YAMLFactory().createParser(DEPLOY.resolve(file).toFile())) {
      YAML.readValues(parser, JsonNode.class).forEachRemaining(documents::add);
    }
    return documents;
  }

  private static JsonNode deployment(String file) throws IOException {
    return documents(file).stream()
        .filter(d -> d.path("kind").asText().equals("Deployment"))
        .findFirst()
        .orElseThrow();
  }

  private static String configMapEntry(String file, String name, String key) throws IOException {
    return documents(file).stream()
        .filter(
            d ->
                d.path("kind").asText().equals("ConfigMap")
                    && d.at("/metadata/name").asText().equals(name))
        .findFirst()
        .orElseThrow()
        .at("/data/" + key)
        .asText();
  }

  private static void assertMutualTlsOnEveryPort(CommandLine.ParseResult parsed) {
    assertThat(
            parsed.hasMatchedOption("--tls-cert")
                && parsed.hasMatchedOption("--tls-key")
                && parsed.hasMatchedOption("--tls-ca"))
        .as("mutual TLS on every port")
        .isTrue();
  }
}
