package io.signalbox.testing;

import static org.awaitility.Awaitility.await;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Objects;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.awaitility.core.ConditionTimeoutException;
import org.awaitility.core.TerminalFailureException;

/**
 * A real Envoy, bootstrapped from {@code envoy/bootstrap/edge-gateway.yaml} against Signalbox xDS
 * port(s) on 127.0.0.1. Each process has its own work directory (bootstrap, admin address file,
 * log) and a kernel-chosen admin port, so any number can run side by side.
 *
 * <p>{@link Builder#start()} returns once the admin interface answers. That is not readiness: until
 * the initial LDS/CDS responses arrive (or their 15 s initial fetch timeouts expire) Envoy is
 * PRE_INITIALIZING or INITIALIZING and {@code /ready} answers 503; use {@link #awaitReady()} for
 * that.
 *
 * <p>Work directories live under {@code target/envoy-runs} when run from a module directory (as
 * surefire does), and are kept after {@link #close()} so that logs can be read after a failure.
 */
public final class EnvoyProcess implements AutoCloseable {

  public enum XdsMode {
    /** State-of-the-world ADS. */
    SOTW("GRPC"),
    /** Incremental ADS. */
    DELTA("DELTA_GRPC");

    private final String apiType;

    XdsMode(String apiType) {
      this.apiType = apiType;
    }

    /** The {@code ads_config.api_type} this mode uses. */
    public String apiType() {
      return apiType;
    }
  }

  public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(15);

  private static final Duration STOP_GRACE = Duration.ofSeconds(5);
  private static final Duration POLL_INTERVAL = Duration.ofMillis(50);
  private static final int FAILURE_LOG_LINES = 50;

  private final long serial;
  private final String nodeId;
  private final String nodeCluster;
  private final XdsMode xdsMode;
  private final Path workDir;
  private final Process process;
  private final AtomicBoolean closed = new AtomicBoolean();
  private volatile String adminUrl;

  private EnvoyProcess(
      long serial,
      String nodeId,
      String nodeCluster,
      XdsMode xdsMode,
      Path workDir,
      Process process) {
    this.serial = serial;
    this.nodeId = nodeId;
    this.nodeCluster = nodeCluster;
    this.xdsMode = xdsMode;
    this.workDir = workDir;
    this.process = process;
  }

  public static Builder builder() {
    return new Builder();
  }

  public String nodeId() {
    return nodeId;
  }

  public String nodeCluster() {
    return nodeCluster;
  }

  public XdsMode xdsMode() {
    return xdsMode;
  }

  public Path workDir() {
    return workDir;
  }

  public Path logFile() {
    return workDir.resolve("envoy.log");
  }

  public Path bootstrapFile() {
    return workDir.resolve("bootstrap.yaml");
  }

  public boolean isAlive() {
    return process.isAlive();
  }

  /** Empty while the process runs. */
  public OptionalInt exitCode() {
    return process.isAlive() ? OptionalInt.empty() : OptionalInt.of(process.exitValue());
  }

  /** The admin interface's base URL, e.g. {@code http://127.0.0.1:41234}. */
  public String adminUrl() {
    String url = adminUrl;
    if (url == null) {
      throw new IllegalStateException(
          "Envoy " + nodeId + " has not reported its admin address yet");
    }
    return url;
  }

  /**
   * GETs an admin path such as {@code /clusters} and returns the body; fails unless the status is
   * 200.
   */
  public String adminGet(String path) {
    HttpProbe.Response response = HttpProbe.get(adminUrl() + path);
    if (response.status() != 200) {
      throw new IllegalStateException(
          "Envoy "
              + nodeId
              + " admin GET "
              + path
              + " answered "
              + response.status()
              + ": "
              + response.body());
    }
    return response.body();
  }

  /** The full configuration dump as JSON, including EDS endpoints. */
  public String configDump() {
    return adminGet("/config_dump?include_eds");
  }

  /**
   * The value of a counter or gauge, e.g. {@code cluster.signalbox-xds.upstream_cx_total}; empty if
   * absent.
   */
  public OptionalLong findStat(String statName) {
    String body =
        adminGet(
            "/stats?filter="
                + URLEncoder.encode("^" + regexLiteral(statName) + "$", StandardCharsets.UTF_8));
    String prefix = statName + ": ";
    return body.lines()
        .filter(line -> line.startsWith(prefix))
        .mapToLong(line -> Long.parseUnsignedLong(line.substring(prefix.length()).strip()))
        .findFirst();
  }

  /**
   * Like {@link #findStat} but fails if the stat does not exist (Envoy creates most stats lazily).
   */
  public long statValue(String statName) {
    return findStat(statName)
        .orElseThrow(
            () -> new NoSuchElementException("Envoy " + nodeId + " has no stat " + statName));
  }

  /** The last {@code lines} lines of Envoy's log (stdout and stderr). */
  public String logTail(int lines) {
    Deque<String> tail = new ArrayDeque<>(lines);
    // InputStreamReader replaces malformed bytes rather than failing, unlike Files.readAllLines.
    try (BufferedReader reader =
        new BufferedReader(
            new InputStreamReader(Files.newInputStream(logFile()), StandardCharsets.UTF_8))) {
      for (String line = reader.readLine(); line != null; line = reader.readLine()) {
        if (tail.size() == lines) {
          tail.removeFirst();
        }
        tail.addLast(line);
      }
    } catch (IOException e) {
      return "(cannot read " + logFile() + ": " + e + ")";
    }
    return String.join("\n", tail);
  }

  public void awaitAdminUp() {
    awaitAdminUp(DEFAULT_TIMEOUT);
  }

  /** Waits until the admin interface answers {@code /server_info}, whatever the server's state. */
  public void awaitAdminUp(Duration timeout) {
    awaitAdmin("/server_info", timeout);
  }

  public void awaitReady() {
    awaitReady(DEFAULT_TIMEOUT);
  }

  /**
   * Waits until {@code /ready} answers 200, i.e. the server is LIVE: its initial xDS fetches are
   * done.
   */
  public void awaitReady(Duration timeout) {
    awaitAdmin("/ready", timeout);
  }

  /**
   * Freezes Envoy (SIGSTOP), as a hung or descheduled Envoy: its connections stay open and it reads
   * nothing until {@link #resume()}.
   */
  public void suspend() {
    signal("STOP");
  }

  /** Lets a {@link #suspend() suspended} Envoy run again (SIGCONT). */
  public void resume() {
    signal("CONT");
  }

  private void signal(String name) {
    try {
      Process kill =
          new ProcessBuilder("kill", "-" + name, Long.toString(process.pid()))
              .redirectErrorStream(true)
              .start();
      if (!kill.waitFor(STOP_GRACE.toMillis(), TimeUnit.MILLISECONDS) || kill.exitValue() != 0) {
        throw new IllegalStateException("kill -" + name + " " + process.pid() + " failed");
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /**
   * Stops Envoy: SIGTERM, then SIGKILL if it has not exited within 5 s. Safe to call more than
   * once.
   */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    process.destroy();
    try {
      if (!process.waitFor(STOP_GRACE.toMillis(), TimeUnit.MILLISECONDS)) {
        process.destroyForcibly().waitFor(STOP_GRACE.toMillis(), TimeUnit.MILLISECONDS);
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public String toString() {
    OptionalInt exitCode = exitCode();
    return "Envoy[node="
        + nodeId
        + ", cluster="
        + nodeCluster
        + ", xds="
        + xdsMode
        + ", pid="
        + process.pid()
        + (exitCode.isPresent() ? ", exited " + exitCode.getAsInt() : ", running")
        + ", dir="
        + workDir
        + "]";
  }

  long serial() {
    return serial;
  }

  void kill() {
    process.destroyForcibly();
  }

  private void awaitAdmin(String path, Duration timeout) {
    try {
      await("Envoy " + nodeId + " admin " + path + " to answer 200")
          .atMost(timeout)
          .pollDelay(Duration.ZERO)
          .pollInterval(POLL_INTERVAL)
          .ignoreExceptions()
          .failFast(
              "Envoy " + nodeId + " exited while waiting for admin " + path,
              () -> !process.isAlive())
          .until(() -> answersOk(path));
    } catch (ConditionTimeoutException | TerminalFailureException e) {
      throw new AssertionError(
          e.getMessage() + "\n" + this + ", last log lines:\n" + logTail(FAILURE_LOG_LINES), e);
    }
  }

  private boolean answersOk(String path) throws IOException {
    String url = adminUrl;
    if (url == null) {
      // Envoy writes the file once its admin listener is bound. The address is only kept once it
      // has answered,
      // in case it was read while still being written.
      url = "http://" + Files.readString(workDir.resolve("admin.txt")).strip();
    }
    boolean ok = HttpProbe.get(url + path).status() == 200;
    if (ok) {
      adminUrl = url;
    }
    return ok;
  }

  private static String regexLiteral(String text) {
    // Envoy matches stat filters with RE2, where a backslash makes any punctuation literal.
    StringBuilder escaped = new StringBuilder();
    text.codePoints()
        .forEach(
            c -> {
              if (!Character.isLetterOrDigit(c) && c != '_') {
                escaped.append('\\');
              }
              escaped.appendCodePoint(c);
            });
    return escaped.toString();
  }

  public static final class Builder {

    private static final Path RUNS_UNDER_TARGET = Path.of("target", "envoy-runs");

    private String nodeId;
    private String nodeCluster = "edge";
    private String serviceZone = "";
    private java.util.Optional<String> sidecarOf = java.util.Optional.empty();
    private List<Integer> xdsPorts = List.of();
    private XdsMode xdsMode = XdsMode.SOTW;
    private String logLevel = "info";
    // Cluster and xDS config changes are what end-to-end failures usually hinge on.
    private String componentLogLevel = "upstream:debug,config:debug";
    private java.util.Optional<EnvoyBootstrap.XdsTls> xdsTls = java.util.Optional.empty();
    private boolean nodeInEveryRequest;

    private Builder() {}

    /** Defaults to a name unique within this JVM. */
    public Builder nodeId(String nodeId) {
      this.nodeId = Objects.requireNonNull(nodeId);
      return this;
    }

    /**
     * The Envoy node cluster, which Signalbox treats as the node group. Defaults to {@code edge}.
     */
    public Builder nodeCluster(String nodeCluster) {
      this.nodeCluster = Objects.requireNonNull(nodeCluster);
      return this;
    }

    /**
     * Control-plane xDS ports on 127.0.0.1; with several, the xDS cluster lists them all. Required.
     */
    public Builder xdsPorts(List<Integer> xdsPorts) {
      this.xdsPorts = List.copyOf(xdsPorts);
      return this;
    }

    public Builder xdsPort(int xdsPort) {
      return xdsPorts(List.of(xdsPort));
    }

    /** Defaults to {@link XdsMode#SOTW}. */
    public Builder xdsMode(XdsMode xdsMode) {
      this.xdsMode = Objects.requireNonNull(xdsMode);
      return this;
    }

    /** Envoy's {@code --log-level}; defaults to {@code info}. */
    public Builder logLevel(String logLevel) {
      this.logLevel = Objects.requireNonNull(logLevel);
      return this;
    }

    /**
     * The zone Envoy declares (its {@code --service-zone}, which sets {@code node.locality.zone});
     * none by default.
     */
    public Builder serviceZone(String serviceZone) {
      this.serviceZone = Objects.requireNonNull(serviceZone);
      return this;
    }

    /**
     * Makes this Envoy a sidecar of {@code service}, bootstrapped from {@code
     * envoy/bootstrap/sidecar.yaml} (node group {@code sidecar/SERVICE}).
     */
    public Builder sidecarOf(String service) {
      this.sidecarOf = java.util.Optional.of(service);
      return this;
    }

    /** Envoy's {@code --component-log-level}; defaults to {@code upstream:debug,config:debug}. */
    public Builder componentLogLevel(String componentLogLevel) {
      this.componentLogLevel = Objects.requireNonNull(componentLogLevel);
      return this;
    }

    /** Connects to the control plane over mutual TLS instead of plaintext (the default). */
    public Builder xdsTls(EnvoyBootstrap.XdsTls xdsTls) {
      this.xdsTls = java.util.Optional.of(xdsTls);
      return this;
    }

    /**
     * Sends the node in every xDS request ({@code set_node_on_first_message_only: false}, Envoy's
     * default); by default in each stream's first request only, as the shipped bootstraps have it.
     */
    public Builder nodeInEveryRequest() {
      this.nodeInEveryRequest = true;
      return this;
    }

    /**
     * Starts Envoy and waits (up to {@link #DEFAULT_TIMEOUT}) until its admin interface answers.
     */
    public EnvoyProcess start() {
      if (xdsPorts.isEmpty()) {
        throw new IllegalStateException("EnvoyProcess needs at least one xDS port");
      }
      long serial = LaunchedEnvoys.nextSerial();
      String id = nodeId != null ? nodeId : "test-envoy-" + serial;
      Path binary = EnvoyBinary.path();
      Path workDir = createWorkDir(id);
      Path bootstrap = workDir.resolve("bootstrap.yaml");
      Path log = workDir.resolve("envoy.log");
      try {
        Files.writeString(
            bootstrap,
            EnvoyBootstrap.render(
                id, nodeCluster, sidecarOf, xdsMode, xdsPorts, xdsTls, nodeInEveryRequest));
        List<String> command =
            new ArrayList<>(
                List.of(
                    binary.toString(),
                    "--config-path",
                    bootstrap.toString(),
                    // No shared memory or domain socket, so parallel Envoys need no distinct
                    // --base-id.
                    "--disable-hot-restart",
                    "--admin-address-path",
                    workDir.resolve("admin.txt").toString(),
                    "--concurrency",
                    "1",
                    "--drain-time-s",
                    "1",
                    "--log-level",
                    logLevel));
        if (!componentLogLevel.isEmpty()) {
          command.addAll(List.of("--component-log-level", componentLogLevel));
        }
        if (!serviceZone.isEmpty()) {
          command.addAll(List.of("--service-zone", serviceZone));
        }
        // Redirecting both streams (rather than --log-path) also captures anything printed before
        // logging is set
        // up, such as bootstrap parse errors and crash backtraces.
        Process process =
            new ProcessBuilder(command)
                .directory(workDir.toFile())
                .redirectErrorStream(true)
                .redirectOutput(log.toFile())
                .start();
        process.getOutputStream().close();
        EnvoyProcess envoy = new EnvoyProcess(serial, id, nodeCluster, xdsMode, workDir, process);
        LaunchedEnvoys.remember(envoy);
        try {
          envoy.awaitAdminUp();
        } catch (RuntimeException | AssertionError e) {
          envoy.close();
          throw e;
        }
        return envoy;
      } catch (IOException e) {
        throw new UncheckedIOException("Cannot start " + binary + " in " + workDir, e);
      }
    }

    private static Path createWorkDir(String nodeId) {
      try {
        Path parent =
            Files.isDirectory(Path.of("target"))
                ? Files.createDirectories(RUNS_UNDER_TARGET)
                : Path.of(System.getProperty("java.io.tmpdir"));
        return Files.createTempDirectory(parent, nodeId.replaceAll("[^A-Za-z0-9_.-]", "_") + "-")
            .toAbsolutePath();
      } catch (IOException e) {
        throw new UncheckedIOException("Cannot create a work directory for Envoy " + nodeId, e);
      }
    }
  }
}
