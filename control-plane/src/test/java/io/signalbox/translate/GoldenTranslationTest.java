package io.signalbox.translate;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import com.google.common.net.InetAddresses;
import com.google.protobuf.Message;
import com.google.protobuf.util.JsonFormat;
import io.signalbox.config.GatewaySettings;
import io.signalbox.config.GatewaySettingsLoader;
import io.signalbox.model.Registration;
import io.signalbox.registry.HostResolver;
import io.signalbox.registry.RegistrationValidator;
import io.signalbox.registry.v1.RegisterRequest;
import io.signalbox.store.InMemoryRegistryStore;
import io.signalbox.store.LeasePolicy;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Translation, specified by example: each {@code translate/in/NAME.yaml} (registrations in proto
 * JSON form, in order, plus optional {@code gateway} settings in the settings file's format,
 * relative files resolved against {@code translate/in}, an optional {@code sidecarOf}: what that
 * service's sidecars are sent, and an optional {@code zone}: what an Envoy of that zone is sent)
 * must translate to exactly the files of {@code translate/out/NAME/}: one per resource type the
 * case has ({@code listeners.yaml}, {@code routes.yaml}, {@code clusters.yaml}, {@code
 * endpoints.yaml}, {@code secrets.yaml}), so a diff shows which kind of resource a change touches.
 * A golden directory without its case fails too.
 *
 * <p>Run with {@code -Dsignalbox.golden.update=true} to rewrite the expected files, then review the
 * diff.
 */
class GoldenTranslationTest {

  private static final Path CASES = Path.of("src/test/resources/translate");
  private static final boolean UPDATE = Boolean.getBoolean("signalbox.golden.update");
  private static final ObjectMapper YAML =
      new ObjectMapper(
          new YAMLFactory()
              .disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
              .enable(YAMLGenerator.Feature.MINIMIZE_QUOTES));
  private static final ObjectMapper JSON = new ObjectMapper();

  static Stream<String> cases() throws IOException {
    try (Stream<Path> files = Files.list(CASES.resolve("in"))) {
      return files
          .map(p -> p.getFileName().toString())
          .filter(name -> name.endsWith(".yaml"))
          .map(name -> name.substring(0, name.length() - ".yaml".length()))
          .sorted()
          .toList()
          .stream();
    }
  }

  /** The resource types, in xDS order; a case's golden directory holds a file per type it has. */
  private static final List<String> TYPES =
      List.of("listeners", "routes", "clusters", "endpoints", "secrets");

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void translatesAsRecorded(String name) throws IOException {
    JsonNode input = YAML.readTree(CASES.resolve("in/" + name + ".yaml").toFile());
    JsonNode output = translate(input);
    Map<String, String> actual = new TreeMap<>();
    for (String type : TYPES) {
      if (!output.get(type).isEmpty()) {
        actual.put(type + ".yaml", YAML.writeValueAsString(output.get(type)));
      }
    }
    Path directory = CASES.resolve("out/" + name);
    if (UPDATE) {
      Files.createDirectories(directory);
      for (Path old : goldenFiles(directory).values()) {
        Files.delete(old);
      }
      for (Map.Entry<String, String> file : actual.entrySet()) {
        Files.writeString(directory.resolve(file.getKey()), file.getValue());
      }
    }
    Map<String, Path> expected = goldenFiles(directory);
    assertThat(expected.keySet())
        .as(
            "golden files of case %s, one per resource type it has (regenerate with"
                + " -Dsignalbox.golden.update=true)",
            name)
        .containsExactlyElementsOf(actual.keySet());
    for (Map.Entry<String, String> file : actual.entrySet()) {
      assertThat(file.getValue())
          .as("%s/%s", name, file.getKey())
          .isEqualTo(Files.readString(expected.get(file.getKey())));
    }
  }

  @Test
  void everyGoldenDirectoryBelongsToACase() throws IOException {
    List<String> cases = cases().toList();
    try (Stream<Path> entries = Files.list(CASES.resolve("out"))) {
      assertThat(entries.map(p -> p.getFileName().toString() + (Files.isDirectory(p) ? "" : "?")))
          .as("translate/out holds one directory per case in translate/in, nothing else")
          .containsExactlyInAnyOrderElementsOf(cases);
    }
  }

  private static Map<String, Path> goldenFiles(Path directory) throws IOException {
    Map<String, Path> files = new TreeMap<>();
    if (Files.isDirectory(directory)) {
      try (Stream<Path> entries = Files.list(directory)) {
        entries.forEach(p -> files.put(p.getFileName().toString(), p));
      }
    }
    return files;
  }

  /** What case {@code name} translates to. */
  static XdsResources resources(String name) throws IOException {
    return resources(YAML.readTree(CASES.resolve("in/" + name + ".yaml").toFile()));
  }

  private static JsonNode translate(JsonNode input) throws IOException {
    XdsResources resources = resources(input);
    ObjectNode output = JSON.createObjectNode();
    output.set("listeners", toJson(resources.listeners()));
    output.set("routes", toJson(resources.routes()));
    output.set("clusters", toJson(resources.clusters()));
    output.set("endpoints", toJson(resources.endpoints()));
    output.set("secrets", toJson(resources.secrets()));
    return output;
  }

  private static XdsResources resources(JsonNode input) throws IOException {
    GatewaySettings gateway = GatewaySettings.DEFAULT;
    if (input.has("gateway")) {
      gateway =
          GatewaySettingsLoader.parse(
              YAML.writeValueAsString(input.get("gateway")), CASES.resolve("in"));
    }
    // Goldens use IP literals only; a case must never depend on DNS.
    GatewaySettings settings = gateway;
    RegistrationValidator validator =
        new RegistrationValidator(
            host ->
                InetAddresses.isInetAddress(host)
                    ? HostResolver.system().resolve(host)
                    : Optional.empty(),
            GatewaySettings.registrationRules(() -> settings));
    InMemoryRegistryStore store = new InMemoryRegistryStore(LeasePolicy.DEFAULT);
    java.util.Map<String, String> leases = new java.util.HashMap<>();
    for (JsonNode registration : input.path("registrations")) {
      RegisterRequest.Builder request = RegisterRequest.newBuilder();
      JsonFormat.parser().merge(JSON.writeValueAsString(registration), request);
      Registration validated = validator.validate(request.build());
      leases.put(
          validated.service() + "/" + validated.instance().id(),
          store.register(validated, Optional.empty()).id());
    }
    // Instances that reported NOT_SERVING through the SDK, as "service/instance".
    for (JsonNode instance : input.path("notServing")) {
      store.setServing(leases.get(instance.asText()), false, "");
    }
    // The services whose policies are being handed between the edge and their sidecars.
    Set<String> handingOver = new TreeSet<>();
    input.path("handover").forEach(service -> handingOver.add(service.asText()));
    PolicyHandover handover = new PolicyHandover(handingOver);
    XdsResources resources = new GatewayTranslator().translate(store.state(), gateway, handover);
    if (input.has("sidecarOf")) {
      // What the sidecars of this service are sent (their certificates come later, per group).
      resources =
          new SidecarTranslator()
              .translate(
                  resources, store.state(), gateway, handover, input.get("sidecarOf").asText());
    }
    if (input.has("zone")) {
      // What an Envoy declaring this zone is sent.
      resources = LocalZonePreference.forZone(resources, input.get("zone").asText());
    }
    return resources;
  }

  private static ArrayNode toJson(List<? extends Message> messages) throws IOException {
    ArrayNode array = JSON.createArrayNode();
    for (Message message : messages) {
      array.add(JSON.readTree(XdsJson.print(message)));
    }
    return array;
  }
}
