package io.signalbox.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.signalbox.testing.EnvoyBinary;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The deployment files in deploy/ are what their platforms accept, checked offline against the
 * platforms' own schemas: every Kubernetes manifest against the Kubernetes schemas in strict mode
 * (unknown fields fail), the Compose file against the Compose Specification, and the systemd unit
 * with {@code systemd-analyze verify}. The validators come from {@code scripts/install-schemas.sh}
 * (pinned; {@code scripts/test.sh} runs it). Each check is also shown failing on a broken copy.
 */
class DeploySchemasTest {

  private static final Path ROOT = EnvoyBinary.repoRoot();
  private static final Path DEPLOY = ROOT.resolve("deploy");
  private static final Path COMPOSE_FILE = DEPLOY.resolve("compose/compose.yaml");
  private static final Path SYSTEMD_UNIT = DEPLOY.resolve("systemd/signalbox.service");
  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

  private static Path checkKubernetes;
  private static Path checkCompose;

  @TempDir Path dir;

  @BeforeAll
  static void findTheInstalledValidators() throws Exception {
    Run installed = run(List.of("bash", "scripts/install-schemas.sh", "--installed"));
    if (installed.status() != 0) {
      fail(
          "The schema validators are not installed: run scripts/install-schemas.sh (scripts/test.sh"
              + " does).\n"
              + installed.output());
    }
    List<String> lines = installed.output().lines().toList();
    Path validators = Path.of(lines.get(lines.size() - 1).trim());
    checkKubernetes = validators.resolve("bin/check-kubernetes");
    checkCompose = validators.resolve("bin/check-compose");
  }

  @Test
  void everyKubernetesManifestIsValidForKubernetesWithNoUnknownField() throws Exception {
    List<String> manifests;
    try (Stream<Path> files = Files.list(DEPLOY.resolve("kubernetes"))) {
      manifests =
          files
              .filter(file -> file.toString().endsWith(".yaml"))
              .sorted()
              .map(Path::toString)
              .toList();
    }
    assertThat(manifests).hasSizeGreaterThanOrEqualTo(2);

    Run check = checkKubernetes(manifests);

    assertThat(check.output()).as("findings").isEmpty();
    assertThat(check.status()).isZero();
  }

  @Test
  void aReplicaCountThatIsNotANumberIsRejectedNamingTheField() throws Exception {
    Path broken = brokenCopy("kubernetes/signalbox.yaml", "  replicas: 3\n", "  replicas: three\n");

    Run check = checkKubernetes(List.of(broken.toString()));

    assertThat(check.status()).isNotZero();
    assertThat(check.output())
        .contains("deployment/signalbox")
        .contains("spec.replicas: 'three' is not of type 'integer'");
  }

  @Test
  void anUnknownFieldInAPodSpecIsRejectedNamingIt() throws Exception {
    Path broken =
        brokenCopy(
            "kubernetes/envoy.yaml",
            "      containers:\n",
            "      containerz: []\n      containers:\n");

    Run check = checkKubernetes(List.of(broken.toString()));

    assertThat(check.status()).isNotZero();
    assertThat(check.output())
        .contains("deployment/envoy-edge")
        .contains("spec.template.spec: Additional properties are not allowed ('containerz' was");
  }

  @Test
  void aKindWithoutASchemaIsRejectedRatherThanSkipped() throws Exception {
    Path broken = brokenCopy("kubernetes/envoy.yaml", "kind: Deployment\n", "kind: Deploymint\n");

    Run check = checkKubernetes(List.of(broken.toString()));

    assertThat(check.status()).isNotZero();
    assertThat(check.output()).contains("Couldn't find schema for kind Deploymint");
  }

  @Test
  void theComposeFileIsValidAgainstTheComposeSpecification() throws Exception {
    Run check = run(List.of(checkCompose.toString(), COMPOSE_FILE.toString()));

    assertThat(check.status()).as(check.output()).isZero();
  }

  @Test
  void anUnknownKeyInAComposeServiceIsRejectedNamingIt() throws Exception {
    Path broken =
        brokenCopy(
            "compose/compose.yaml",
            "  users:\n    image:",
            "  users:\n    containerz: []\n    image:");

    Run check = run(List.of(checkCompose.toString(), broken.toString()));

    assertThat(check.status()).isNotZero();
    assertThat(check.output())
        .contains("$.services.users: ")
        .contains("'containerz' was unexpected");
  }

  @Test
  void aComposeCommandArgumentThatIsNotAStringIsRejected() throws Exception {
    Path broken =
        brokenCopy(
            "compose/compose.yaml",
            "      - --port\n      - \"8080\"\n",
            "      - --port\n      - 8080\n");

    Run check = run(List.of(checkCompose.toString(), broken.toString()));

    assertThat(check.status()).isNotZero();
    assertThat(check.output())
        .contains("$.services.users.command")
        .contains("8080 is not of type 'string'");
  }

  /** What Compose checks when it loads the file, beyond the schema: what each service refers to. */
  @Test
  void everyImageBuildMountServiceAndVolumeTheComposeFileRefersToExists() throws IOException {
    JsonNode compose = YAML.readTree(COMPOSE_FILE.toFile());
    Path base = COMPOSE_FILE.getParent();
    JsonNode services = compose.path("services");
    assertThat(services.size()).isGreaterThanOrEqualTo(4);

    services
        .fields()
        .forEachRemaining(
            entry -> {
              String name = entry.getKey();
              JsonNode service = entry.getValue();
              if (service.has("build")) {
                Path context = base.resolve(service.at("/build/context").asText()).normalize();
                assertThat(context.resolve("pom.xml")).as(name + " builds the repository").exists();
                assertThat(context.resolve(service.at("/build/dockerfile").asText()))
                    .as(name + "'s Dockerfile")
                    .isRegularFile();
              }
              for (JsonNode volume : service.path("volumes")) {
                String source = volume.asText().split(":")[0];
                if (source.startsWith(".") || source.startsWith("/")) {
                  assertThat(base.resolve(source).normalize())
                      .as(name + " mounts " + source)
                      .isRegularFile();
                } else {
                  assertThat(compose.path("volumes").has(source))
                      .as(name + "'s volume " + source + " is declared")
                      .isTrue();
                }
              }
              service
                  .path("depends_on")
                  .fieldNames()
                  .forEachRemaining(
                      other ->
                          assertThat(services.has(other))
                              .as(name + " depends on " + other)
                              .isTrue());
              String networkMode = service.path("network_mode").asText();
              if (networkMode.startsWith("service:")) {
                String other = networkMode.substring("service:".length());
                assertThat(services.has(other)).as(name + " joins " + other).isTrue();
                assertThat(service.has("ports"))
                    .as(name + " shares " + other + "'s network: ports are published there")
                    .isFalse();
              }
            });
  }

  @Test
  void theSystemdUnitPassesSystemdAnalyzeVerify() throws Exception {
    Path unit = unitAsInstalled(Files.readString(SYSTEMD_UNIT));

    Run verify = systemdAnalyzeVerify(unit);

    assertThat(findingsAbout(verify, unit)).isEmpty();
    assertThat(verify.status()).as(verify.output()).isZero();
  }

  @Test
  void systemdAnalyzeReportsAnUnknownKeyInTheUnit() throws Exception {
    String unitText = Files.readString(SYSTEMD_UNIT);
    assertThat(unitText).contains("\nRestart=on-failure\n");
    Path unit =
        unitAsInstalled(
            unitText.replace("\nRestart=on-failure\n", "\nRestart=on-failure\nRestartz=always\n"));

    Run verify = systemdAnalyzeVerify(unit);

    assertThat(findingsAbout(verify, unit))
        .anyMatch(line -> line.contains("Unknown key 'Restartz'"));
  }

  private static Run checkKubernetes(List<String> files) throws Exception {
    List<String> command = new ArrayList<>();
    command.add(checkKubernetes.toString());
    command.addAll(files);
    return run(command);
  }

  /** A copy of a deploy/ file in the temp dir with {@code original}, which it holds, replaced. */
  private Path brokenCopy(String file, String original, String replacement) throws IOException {
    String text = Files.readString(DEPLOY.resolve(file));
    assertThat(text).as(file).contains(original);
    Path copy = dir.resolve(Path.of(file).getFileName());
    Files.writeString(copy, text.replaceFirst(Pattern.quote(original), replacement));
    return copy;
  }

  /**
   * The unit as on a host where what ExecStart runs is installed: systemd-analyze refuses a missing
   * executable, so its path is moved under the temp dir, where an executable stands in for it.
   */
  private Path unitAsInstalled(String unitText) throws IOException {
    Matcher execStart = Pattern.compile("(?m)^ExecStart=(/\\S+)").matcher(unitText);
    assertThat(execStart.find()).as("ExecStart= runs an absolute path").isTrue();
    String executable = execStart.group(1);
    Path standIn = dir.resolve(executable.substring(1));
    Files.createDirectories(standIn.getParent());
    Files.writeString(standIn, "#!/bin/sh\n");
    assertThat(standIn.toFile().setExecutable(true)).isTrue();
    Path unit = dir.resolve(SYSTEMD_UNIT.getFileName());
    Files.writeString(unit, unitText.replace("ExecStart=" + executable, "ExecStart=" + standIn));
    return unit;
  }

  private static Run systemdAnalyzeVerify(Path unit) throws Exception {
    Optional<Path> systemdAnalyze = onPath("systemd-analyze");
    assumeTrue(systemdAnalyze.isPresent(), "systemd-analyze is not installed here");
    return run(List.of(systemdAnalyze.get().toString(), "verify", "--man=no", unit.toString()));
  }

  /**
   * systemd-analyze warns and exits 0 on what it ignores: its lines about our unit are findings.
   */
  private static List<String> findingsAbout(Run verify, Path unit) {
    String unitName = unit.getFileName().toString();
    return verify.output().lines().filter(line -> line.contains(unitName)).toList();
  }

  private static Optional<Path> onPath(String program) {
    String path = System.getenv().getOrDefault("PATH", "");
    return Stream.of(path.split(File.pathSeparator))
        .filter(entry -> !entry.isEmpty())
        .map(entry -> Path.of(entry, program))
        .filter(Files::isExecutable)
        .findFirst();
  }

  private record Run(int status, String output) {}

  private static Run run(List<String> command) throws Exception {
    Process process =
        new ProcessBuilder(command).directory(ROOT.toFile()).redirectErrorStream(true).start();
    process.getOutputStream().close();
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!process.waitFor(60, TimeUnit.SECONDS)) {
      process.destroyForcibly();
      fail("timed out: " + String.join(" ", command) + "\n" + output);
    }
    return new Run(process.exitValue(), output.strip());
  }
}
