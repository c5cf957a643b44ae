package io.signalbox.distribution;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.signalbox.testing.FreePorts;
import java.io.IOException;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The container image that the build writes as an OCI tarball (control-plane's {@code image}
 * profile, Jib, no container engine): what a runtime would read from it, and, where this machine
 * lets a test make a mount and PID namespace, the image's file system run as the image says.
 */
class ImageIT {

  private static final String VERSION = System.getProperty("signalbox.version");
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir static Path work;
  static Path layout;
  static JsonNode config;
  static List<Path> layers = new ArrayList<>();

  /** The layers unpacked in order: the image's file system. */
  static Path rootfs;

  @BeforeAll
  static void readTheImageLayout() throws Exception {
    String tarball = System.getProperty("signalbox.image.tarball");
    assumeThat(tarball).as("the image is built on Linux hosts only (profile image)").isNotBlank();
    assertThat(Path.of(tarball)).as("built by `mvn package` on Linux").isRegularFile();
    layout = Files.createDirectories(work.resolve("layout"));
    tar("-xf", tarball, "-C", layout.toString());
    JsonNode index = JSON.readTree(layout.resolve("index.json").toFile());
    JsonNode manifest = blob(index.at("/manifests/0/digest").asText());
    assertThat(manifest.path("mediaType").asText())
        .isEqualTo("application/vnd.oci.image.manifest.v1+json");
    config = blob(manifest.at("/config/digest").asText()).path("config");
    rootfs = Files.createDirectories(work.resolve("rootfs"));
    for (JsonNode layer : manifest.path("layers")) {
      layers.add(blobPath(layer.path("digest").asText()));
      tar(
          "--warning=no-unknown-keyword",
          "-xzf",
          layers.get(layers.size() - 1).toString(),
          "-C",
          rootfs.toString());
    }
  }

  @Test
  void theEntrypointRunsTheMainClassOfTheDistributionsStartScript() throws Exception {
    Path unpacked = Files.createDirectories(work.resolve("distribution"));
    tar(
        "-xzf",
        System.getProperty("signalbox.distribution.archive"),
        "-C",
        unpacked.toString(),
        "--strip-components=1");
    Matcher mainClass =
        Pattern.compile("io\\.signalbox\\.[a-z.]+\\.[A-Za-z]+Main")
            .matcher(Files.readString(unpacked.resolve("bin/signalbox")));
    assertThat(mainClass.find()).isTrue();

    assertThat(strings(config.path("Entrypoint")))
        .startsWith("java")
        .endsWith(mainClass.group())
        .contains("-XX:+ExitOnOutOfMemoryError");
    assertThat(strings(config.path("Cmd"))).containsExactly("--data-dir", "/var/lib/signalbox");
    assertThat(strings(config.path("Env"))).contains("PATH=/opt/java/bin");
  }

  @Test
  void itRunsAsAnUnprivilegedUserAndExposesTheGrpcAndMetricsPorts() {
    assertThat(config.path("User").asText()).isEqualTo("10001:10001");
    assertThat(config.path("ExposedPorts").fieldNames())
        .toIterable()
        .containsExactlyInAnyOrder("18000/tcp", "18002/tcp");
  }

  @Test
  void itsLayersHoldAJavaRuntimeTheApplicationAndTheUnprivilegedUser() throws Exception {
    List<String> entries = new ArrayList<>();
    for (Path layer : layers) {
      entries.addAll(
          tar("--warning=no-unknown-keyword", "-tzvf", layer.toString()).lines().toList());
    }

    assertThat(entries)
        .anyMatch(entry -> entry.startsWith("-rwxr-xr-x") && entry.endsWith(" opt/java/bin/java"))
        .anyMatch(entry -> entry.endsWith(" lib64/ld-linux-x86-64.so.2"))
        .anyMatch(entry -> entry.endsWith(" app/classpath/control-plane-" + VERSION + ".jar"))
        .anyMatch(entry -> entry.endsWith(" app/libs/registry-api-" + VERSION + ".jar"))
        .anyMatch(entry -> entry.matches(".* app/libs/grpc-netty-shaded-[0-9.]+\\.jar"))
        .anyMatch(entry -> entry.startsWith("drwxrwxrwx") && entry.endsWith(" var/lib/signalbox/"))
        .as("no set-user-ID or set-group-ID file")
        .noneMatch(entry -> entry.charAt(3) == 's' || entry.charAt(6) == 's');
    assertThat(Files.readString(rootfs.resolve("etc/passwd"))).contains("signalbox:x:10001:10001:");
  }

  /**
   * Without a container engine: the layers unpacked in order, then the entrypoint and command run
   * in a chroot of them, with a PID namespace and its own /proc, as the image's user and
   * environment. Needs root and {@code unshare}, which CI machines have.
   */
  @Test
  void theImagesFileSystemServesTheControlPlaneAsTheImageSays() throws Exception {
    assumeThat(System.getProperty("user.name")).as("needs root for chroot").isEqualTo("root");
    assumeThat(Path.of("/usr/bin/unshare")).as("needs util-linux unshare").isExecutable();
    assumeThat(Path.of("/usr/sbin/chroot")).as("needs coreutils chroot").isExecutable();
    Files.createDirectories(rootfs.resolve("proc"));

    assertThat(runInImage(rootfs, List.of("--version")).trim()).isEqualTo("signalbox " + VERSION);

    List<Integer> ports = FreePorts.allocate(4);
    Path log = work.resolve("image-control-plane.log");
    Process server =
        imageProcess(
                rootfs,
                List.of(
                    "--insecure-plaintext",
                    "--grpc-address",
                    "127.0.0.1",
                    "--grpc-port",
                    String.valueOf(ports.get(0)),
                    "--admin-port",
                    String.valueOf(ports.get(1)),
                    "--metrics-address",
                    "127.0.0.1",
                    "--metrics-port",
                    String.valueOf(ports.get(2)),
                    "--gateway-port",
                    String.valueOf(ports.get(3))))
            .redirectOutput(log.toFile())
            .start();
    try {
      await("the control plane in the image listens; log: " + log)
          .atMost(Duration.ofSeconds(30))
          .until(() -> listening(ports.get(0)) || !server.isAlive());
      assertThat(server.isAlive()).as(Files.readString(log)).isTrue();
      assertThat(Files.list(rootfs.resolve("var/lib/signalbox")))
          .as("the registry journal, written by uid 10001 in the image's data directory")
          .isNotEmpty();
    } finally {
      // The control plane is unshare's child, not unshare: --kill-child does not reach it, since
      // chroot's change of user clears the parent-death signal, and it would outlive the test.
      List<ProcessHandle> inImage = server.descendants().toList();
      inImage.forEach(ProcessHandle::destroy);
      server.destroy();
      for (ProcessHandle process : inImage) {
        try {
          process.onExit().get(10, TimeUnit.SECONDS);
        } catch (TimeoutException e) {
          process.destroyForcibly();
        }
      }
      if (!server.waitFor(10, TimeUnit.SECONDS)) {
        server.destroyForcibly();
      }
    }
  }

  private static String runInImage(Path rootfs, List<String> arguments) throws Exception {
    Path output = Files.createTempFile(work, "image", ".out");
    Process process = imageProcess(rootfs, arguments).redirectOutput(output.toFile()).start();
    assertThat(process.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(process.exitValue()).as(Files.readString(output)).isZero();
    return Files.readString(output);
  }

  /** The image's entrypoint and command, then {@code arguments}, with the image's environment. */
  private static ProcessBuilder imageProcess(Path rootfs, List<String> arguments) {
    List<String> command =
        new ArrayList<>(
            List.of(
                "/usr/bin/unshare",
                "--mount",
                "--pid",
                "--fork",
                "--kill-child",
                "--mount-proc=" + rootfs.resolve("proc"),
                "/usr/sbin/chroot",
                "--userspec=" + config.path("User").asText(),
                rootfs.toString()));
    // chroot does not search the image's PATH: the entrypoint's java is named where PATH points.
    List<String> entrypoint = strings(config.path("Entrypoint"));
    command.add("/opt/java/bin/" + entrypoint.get(0));
    command.addAll(entrypoint.subList(1, entrypoint.size()));
    command.addAll(strings(config.path("Cmd")));
    command.addAll(arguments);
    ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
    builder.environment().clear();
    for (String variable : strings(config.path("Env"))) {
      int equals = variable.indexOf('=');
      builder.environment().put(variable.substring(0, equals), variable.substring(equals + 1));
    }
    return builder;
  }

  private static List<String> strings(JsonNode array) {
    return StreamSupport.stream(array.spliterator(), false).map(JsonNode::asText).toList();
  }

  private static JsonNode blob(String digest) throws IOException {
    return JSON.readTree(blobPath(digest).toFile());
  }

  private static Path blobPath(String digest) {
    return layout.resolve("blobs").resolve(digest.replace(':', '/'));
  }

  private static String tar(String... arguments) throws Exception {
    List<String> command = new ArrayList<>(List.of("tar"));
    command.addAll(List.of(arguments));
    Path output = Files.createTempFile(work, "tar", ".out");
    Process process =
        new ProcessBuilder(command)
            .redirectErrorStream(true)
            .redirectOutput(output.toFile())
            .start();
    assertThat(process.waitFor(120, TimeUnit.SECONDS)).isTrue();
    String printed = Files.readString(output);
    assertThat(process.exitValue()).as(String.join(" ", command) + "\n" + printed).isZero();
    return printed;
  }

  private static boolean listening(int port) {
    try (Socket socket = new Socket("127.0.0.1", port)) {
      return true;
    } catch (IOException e) {
      return false;
    }
  }
}
