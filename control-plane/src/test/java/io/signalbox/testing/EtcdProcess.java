package io.signalbox.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A real single-member etcd ({@code /usr/bin/etcd}, installed by {@code scripts/install-etcd.sh}) on free loopback
 * ports, with its own data directory under {@code target/etcd-runs}. {@link #stop()} and {@link #start()} stop and
 * restart it on the same ports and data, so tests can take etcd away and bring it back.
 *
 * <p>Start and restart return once {@code /health} reports healthy; otherwise they fail with the end of the log.
 */
public final class EtcdProcess implements AutoCloseable {

  public static final Path BINARY = Path.of(System.getProperty("signalbox.etcd.binary", "/usr/bin/etcd"));

  private static final Duration START_TIMEOUT = Duration.ofSeconds(20);
  private static final Duration STOP_GRACE = Duration.ofSeconds(5);
  private static final AtomicLong SERIALS = new AtomicLong();

  private final String name;
  private final Path workDir;
  private final int clientPort;
  private final int peerPort;
  private Process process;

  private EtcdProcess(String name, Path workDir, int clientPort, int peerPort) {
    this.name = name;
    this.workDir = workDir;
    this.clientPort = clientPort;
    this.peerPort = peerPort;
  }

  /** Starts a fresh etcd and waits until it is healthy. */
  public static EtcdProcess launch() {
    if (!Files.isExecutable(BINARY)) {
      throw new IllegalStateException(BINARY + " is missing: run scripts/install-etcd.sh");
    }
    List<Integer> ports = FreePorts.allocate(2);
    String name = "etcd-" + ProcessHandle.current().pid() + "-" + SERIALS.incrementAndGet();
    Path workDir;
    try {
      Path root = Path.of("target", "etcd-runs").toAbsolutePath();
      Files.createDirectories(root);
      workDir = Files.createTempDirectory(root, name + "-");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    EtcdProcess etcd = new EtcdProcess(name, workDir, ports.get(0), ports.get(1));
    etcd.start();
    return etcd;
  }

  /** The client URL, e.g. {@code http://127.0.0.1:41234}. */
  public String endpoint() {
    return "http://127.0.0.1:" + clientPort;
  }

  public Path logFile() {
    return workDir.resolve("etcd.log");
  }

  public synchronized boolean isRunning() {
    return process != null && process.isAlive();
  }

  /** (Re)starts etcd on the same ports and data directory and waits until it is healthy. */
  public synchronized void start() {
    if (isRunning()) {
      return;
    }
    String peerUrl = "http://127.0.0.1:" + peerPort;
    List<String> command = new ArrayList<>(List.of(BINARY.toString(),
        "--name", name,
        "--data-dir", workDir.resolve("data").toString(),
        "--listen-client-urls", endpoint(),
        "--advertise-client-urls", endpoint(),
        "--listen-peer-urls", peerUrl,
        "--initial-advertise-peer-urls", peerUrl,
        "--initial-cluster", name + "=" + peerUrl,
        "--initial-cluster-state", "new",
        "--log-outputs", "stderr"));
    try {
      process = new ProcessBuilder(command)
          .redirectErrorStream(true)
          .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile().toFile()))
          .start();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start " + BINARY, e);
    }
    long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
    while (System.nanoTime() < deadline) {
      if (!process.isAlive()) {
        throw new IllegalStateException("etcd exited with " + process.exitValue() + "; log:\n" + logTail());
      }
      try {
        HttpProbe.Response health = HttpProbe.get(endpoint() + "/health");
        if (health.status() == 200 && health.body().contains("\"true\"")) {
          return;
        }
      } catch (RuntimeException notYet) {
        // Not listening yet.
      }
      sleep(Duration.ofMillis(50));
    }
    throw new IllegalStateException("etcd not healthy within " + START_TIMEOUT + "; log:\n" + logTail());
  }

  /** Stops etcd (SIGTERM, then SIGKILL); the data directory stays for {@link #start()}. */
  public synchronized void stop() {
    if (process == null) {
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
    process = null;
  }

  /** The last lines of etcd's log, for failure messages. */
  public String logTail() {
    try {
      List<String> lines = Files.readAllLines(logFile());
      return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
    } catch (IOException e) {
      return "(no log: " + e.getMessage() + ")";
    }
  }

  @Override
  public void close() {
    stop();
  }

  @Override
  public String toString() {
    return "etcd[" + endpoint() + ", dir=" + workDir + "]";
  }

  private static void sleep(Duration duration) {
    try {
      Thread.sleep(duration.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while waiting for etcd", e);
    }
  }
}
