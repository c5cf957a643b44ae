package io.signalbox.distribution;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.sun.net.httpserver.HttpServer;
import io.signalbox.client.Registration;
import io.signalbox.client.RegistryClient;
import io.signalbox.client.Routes;
import io.signalbox.client.ServiceRegistration;
import io.signalbox.testing.EnvoyBinary;
import io.signalbox.testing.FreePorts;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The release archive as an operator uses it: unpacked into an empty directory and run with only a
 * Java runtime, its own scripts, its own example settings and its own Envoy bootstrap. The scripts
 * run with a {@code PATH} that holds nothing but bash and the few tools they use, so neither Maven
 * nor this build's class path can be involved.
 */
class DistributionIT {

  private static final String VERSION = System.getProperty("signalbox.version");
  private static final Duration STARTUP = Duration.ofSeconds(30);

  @TempDir static Path unpacked;
  static Path home;

  private final List<Process> processes = new ArrayList<>();
  private final List<AutoCloseable> closeables = new ArrayList<>();

  @BeforeAll
  static void unpackTheArchive() throws Exception {
    Path archive = Path.of(System.getProperty("signalbox.distribution.archive"));
    assertThat(archive).as("built by `mvn package`").isRegularFile();
    Process tar =
        new ProcessBuilder("tar", "-xzf", archive.toString(), "-C", unpacked.toString())
            .inheritIO()
            .start();
    assertThat(tar.waitFor()).isZero();
    home = unpacked.resolve("signalbox-" + VERSION);
  }

  @AfterEach
  void stopEverything() throws Exception {
    for (int i = closeables.size() - 1; i >= 0; i--) {
      closeables.get(i).close();
    }
    for (Process process : processes) {
      process.destroy();
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        process.destroyForcibly();
      }
    }
  }

  @Test
  void holdsTheScriptsTheJarsTheExampleSettingsAndTheEnvoyBootstraps() throws IOException {
    assertThat(Files.getPosixFilePermissions(home.resolve("bin/signalbox")))
        .contains(PosixFilePermission.OWNER_EXECUTE, PosixFilePermission.OTHERS_EXECUTE);
    assertThat(Files.getPosixFilePermissions(home.resolve("bin/signalboxctl")))
        .contains(PosixFilePermission.OWNER_EXECUTE);
    assertThat(home.resolve("lib/control-plane-" + VERSION + ".jar")).isRegularFile();
    assertThat(home.resolve("lib/registry-api-" + VERSION + ".jar")).isRegularFile();
    try (var jars = Files.list(home.resolve("lib"))) {
      assertThat(jars.map(jar -> jar.getFileName().toString()))
          .as("one protobuf runtime, and no test libraries")
          .filteredOn(name -> name.matches("protobuf-java-[0-9].*"))
          .hasSize(1);
    }
    try (var jars = Files.list(home.resolve("lib"))) {
      assertThat(jars.map(jar -> jar.getFileName().toString()))
          .noneMatch(name -> name.startsWith("junit") || name.startsWith("assertj"));
    }
    assertThat(home.resolve("config/gateway.yaml")).isRegularFile();
    assertThat(home.resolve("envoy/bootstrap/edge-gateway-mtls.yaml")).isRegularFile();
    assertThat(home.resolve("envoy/bootstrap/sidecar-mtls.yaml")).isRegularFile();
    assertThat(Files.readString(home.resolve("README.md"))).contains("## Quick start");
  }

  /**
   * The BOM has no parent (it must not hand users the control plane's own version choices), so its
   * versions are written out: they must be the ones the SDK is built and released with.
   */
  @Test
  void theBomManagesTheReleaseAndTheGrpcAndProtobufTheSdkIsBuiltOn() throws IOException {
    Path root = EnvoyBinary.repoRoot();
    String parent = Files.readString(root.resolve("pom.xml"));
    String bom = Files.readString(root.resolve("bom/pom.xml"));
    assertThat(element(bom, "version")).isEqualTo(VERSION);
    for (String property : List.of("grpc.version", "protobuf.version")) {
      assertThat(element(bom, property)).as(property).isEqualTo(element(parent, property));
    }
  }

  /** The first element of that name, comments aside: the project's version, or a property. */
  private static String element(String pom, String name) {
    Matcher matcher =
        Pattern.compile("<" + Pattern.quote(name) + ">([^<]+)</")
            .matcher(pom.replaceAll("(?s)<!--.*?-->", ""));
    assertThat(matcher.find()).as("<%s>", name).isTrue();
    return matcher.group(1).trim();
  }

  @Test
  void bothCommandsPrintTheRelease() throws Exception {
    assertThat(run("bin/signalbox", "--version")).isEqualTo("signalbox " + VERSION);
    assertThat(run("bin/signalboxctl", "--version")).isEqualTo("signalboxctl " + VERSION);
  }

  @Test
  void theUnpackedServerServesTrafficThroughEnvoyAndSignalboxctlSeesTheEnvoy() throws Exception {
    Path pki = home.resolve("pki");
    run("bin/signalbox", "ca", "init", "--dir", pki.toString());
    issue(
        pki,
        "signalbox",
        "spiffe://signalbox.local/control-plane",
        "--dns",
        "signalbox.signalbox.local",
        "--ip",
        "127.0.0.1");
    issue(pki, "envoy", "spiffe://signalbox.local/envoy/edge");
    issue(pki, "hello", "spiffe://signalbox.local/service/hello");
    issue(pki, "operator", "spiffe://signalbox.local/operator/me");

    List<Integer> ports = FreePorts.allocate(5);
    int grpcPort = ports.get(0);
    int adminPort = ports.get(1);
    int metricsPort = ports.get(2);
    int gatewayPort = ports.get(3);
    int envoyAdminPort = ports.get(4);

    // The shipped example, with this machine's free port and the loopback backend allowed.
    Path settings = home.resolve("config/gateway.yaml");
    Files.writeString(
        settings,
        Files.readString(settings)
            .replace("port: 10000", "port: " + gatewayPort)
            .replace("allowCidrs: []", "allowCidrs: [127.0.0.0/8]")
            .replace("denyPorts: [9901]", "denyPorts: [" + envoyAdminPort + "]"));

    start(
        home.resolve("control-plane.log"),
        "bin/signalbox",
        "--config",
        "config/gateway.yaml",
        "--data-dir",
        "data",
        "--grpc-address",
        "127.0.0.1",
        "--grpc-port",
        String.valueOf(grpcPort),
        "--admin-port",
        String.valueOf(adminPort),
        "--metrics-address",
        "127.0.0.1",
        "--metrics-port",
        String.valueOf(metricsPort),
        "--tls-cert",
        "pki/signalbox.pem",
        "--tls-key",
        "pki/signalbox-key.pem",
        "--tls-ca",
        "pki/ca.pem");
    await("the control plane's gRPC port").atMost(STARTUP).until(() -> listening(grpcPort));

    startEnvoyFromTheShippedBootstrap(pki, grpcPort, envoyAdminPort);

    HttpServer backend = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    backend.createContext(
        "/hello",
        exchange -> {
          byte[] body = "hello from the backend".getBytes(StandardCharsets.UTF_8);
          exchange.sendResponseHeaders(200, body.length);
          exchange.getResponseBody().write(body);
          exchange.close();
        });
    backend.start();
    closeables.add(() -> backend.stop(0));

    RegistryClient client =
        RegistryClient.builder()
            .target("127.0.0.1:" + grpcPort)
            .mutualTls(
                pki.resolve("hello.pem"), pki.resolve("hello-key.pem"), pki.resolve("ca.pem"))
            .shutdownHook(false)
            .build();
    closeables.add(client);
    Registration registration =
        client.register(
            ServiceRegistration.builder("hello")
                .instance("hello-1", "127.0.0.1", backend.getAddress().getPort())
                .route(Routes.prefix("/hello"))
                .build());
    closeables.add(registration);

    HttpClient http = HttpClient.newHttpClient();
    HttpRequest get =
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + gatewayPort + "/hello")).build();
    await("a 200 through Envoy")
        .atMost(Duration.ofSeconds(20))
        .untilAsserted(
            () -> {
              HttpResponse<String> response = http.send(get, HttpResponse.BodyHandlers.ofString());
              assertThat(response.statusCode()).isEqualTo(200);
              assertThat(response.body()).isEqualTo("hello from the backend");
            });

    String proxies =
        run(
            "bin/signalboxctl",
            "--admin",
            "127.0.0.1:" + adminPort,
            "--cert",
            "pki/operator.pem",
            "--key",
            "pki/operator-key.pem",
            "--ca",
            "pki/ca.pem",
            "proxies");
    assertThat(proxies).contains("edge-gateway-1").contains("edge");
  }

  private void issue(Path pki, String name, String identity, String... names) throws Exception {
    List<String> command =
        new ArrayList<>(
            List.of(
                "bin/signalbox",
                "ca",
                "issue",
                "--dir",
                pki.toString(),
                "--name",
                name,
                "--identity",
                identity));
    command.addAll(List.of(names));
    run(command.toArray(String[]::new));
  }

  /** The bootstrap as an operator adapts it: this run's ports and certificate directory. */
  private void startEnvoyFromTheShippedBootstrap(Path pki, int grpcPort, int envoyAdminPort)
      throws IOException {
    Path bootstrap = home.resolve("envoy-bootstrap.yaml");
    Files.writeString(
        bootstrap,
        Files.readString(home.resolve("envoy/bootstrap/edge-gateway-mtls.yaml"))
            .replace("port_value: 18000", "port_value: " + grpcPort)
            .replace("port_value: 9901", "port_value: " + envoyAdminPort)
            .replace("/etc/signalbox/tls/", pki + "/"));
    Process envoy =
        new ProcessBuilder(
                EnvoyBinary.path().toString(),
                "--config-path",
                bootstrap.toString(),
                "--disable-hot-restart",
                "--concurrency",
                "1",
                "--log-level",
                "warn")
            .directory(home.toFile())
            .redirectErrorStream(true)
            .redirectOutput(home.resolve("envoy.log").toFile())
            .start();
    processes.add(envoy);
  }

  /** Runs a script of the distribution to its end and returns what it printed, trimmed. */
  private static String run(String... command) throws Exception {
    Path output = Files.createTempFile(unpacked, "run", ".out");
    Process process = scriptProcess(command).redirectOutput(output.toFile()).start();
    assertThat(process.waitFor(60, TimeUnit.SECONDS)).as(String.join(" ", command)).isTrue();
    String printed = Files.readString(output).trim();
    assertThat(process.exitValue()).as(String.join(" ", command) + ":\n" + printed).isZero();
    return printed;
  }

  private void start(Path log, String... command) throws IOException {
    processes.add(scriptProcess(command).redirectOutput(log.toFile()).start());
  }

  /**
   * A script of the distribution, started in its home with a {@code PATH} of bash and the tools the
   * scripts use, and {@code JAVA_HOME} the runtime that runs this test.
   */
  private static ProcessBuilder scriptProcess(String... command) {
    ProcessBuilder builder = new ProcessBuilder(command).directory(home.toFile());
    builder.command().set(0, home.resolve(command[0]).toString());
    builder.redirectErrorStream(true);
    Map<String, String> environment = builder.environment();
    environment.clear();
    environment.put("PATH", toolsOnly().toString());
    environment.put("JAVA_HOME", System.getProperty("java.home"));
    environment.put("HOME", unpacked.toString());
    return builder;
  }

  private static Path toolsOnly() {
    Path bin = unpacked.resolve("tools-only");
    try {
      if (!Files.isDirectory(bin)) {
        Files.createDirectories(bin);
        for (String tool : List.of("bash", "readlink", "dirname", "basename")) {
          Files.createSymbolicLink(bin.resolve(tool), which(tool));
        }
      }
      return bin;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static Path which(String tool) {
    for (String directory : List.of("/usr/bin", "/bin", "/usr/local/bin")) {
      Path candidate = Path.of(directory, tool);
      if (Files.isExecutable(candidate)) {
        return candidate;
      }
    }
    throw new IllegalStateException(tool + " not found in /usr/bin, /bin or /usr/local/bin");
  }

  private static boolean listening(int port) {
    try (Socket socket = new Socket("127.0.0.1", port)) {
      return true;
    } catch (IOException e) {
      return false;
    }
  }
}
