package io.signalbox.testing;

import io.signalbox.ca.CertificateUsage;
import io.signalbox.ca.IssuedCertificate;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A real single-member etcd ({@code /usr/bin/etcd}, installed by {@code scripts/install-etcd.sh})
 * on free loopback ports, with its own data directory under {@code target/etcd-runs}. {@link
 * #stop()} and {@link #start()} stop and restart it on the same ports and data, so tests can take
 * etcd away and bring it back.
 *
 * <p>Start and restart return once {@code /health} reports healthy; otherwise they fail with the
 * end of the log.
 *
 * <p>{@link #launchWithTls} serves the client URL over TLS ({@code https://}), optionally requiring
 * a client certificate; {@code /health} is then read from a separate plaintext metrics URL.
 */
public final class EtcdProcess implements AutoCloseable {

  public static final Path BINARY =
      Path.of(System.getProperty("signalbox.etcd.binary", "/usr/bin/etcd"));

  private static final Duration START_TIMEOUT = Duration.ofSeconds(20);
  private static final Duration STOP_GRACE = Duration.ofSeconds(5);
  private static final AtomicLong SERIALS = new AtomicLong();

  private final String name;
  private final Path workDir;
  private final int clientPort;
  private final int peerPort;
  private final int metricsPort;
  private final Tls tls;
  private Process process;

  /**
   * etcd's TLS for clients: its certificate and key (PEM; the certificate should name 127.0.0.1
   * and, since etcd's gateway dials etcd with it, allow client auth too), and optionally the CA
   * that client certificates must chain to ({@code --trusted-ca-file}, which etcd 3.4 always
   * enforces as {@code --client-cert-auth}).
   */
  public record Tls(Path certFile, Path keyFile, java.util.Optional<Path> clientCaFile) {}

  private EtcdProcess(
      String name, Path workDir, int clientPort, int peerPort, int metricsPort, Tls tls) {
    this.name = name;
    this.workDir = workDir;
    this.clientPort = clientPort;
    this.peerPort = peerPort;
    this.metricsPort = metricsPort;
    this.tls = tls;
  }

  /** Starts a fresh etcd and waits until it is healthy. */
  public static EtcdProcess launch() {
    return launch(null);
  }

  /**
   * Starts a fresh etcd whose client URL is {@code https://} with these files, and waits until it
   * is healthy.
   */
  public static EtcdProcess launchWithTls(Tls tls) {
    return launch(java.util.Objects.requireNonNull(tls));
  }

  private static EtcdProcess launch(Tls tls) {
    if (!Files.isExecutable(BINARY)) {
      throw new IllegalStateException(BINARY + " is missing: run scripts/install-etcd.sh");
    }
    List<Integer> ports = FreePorts.allocate(3);
    String name = "etcd-" + ProcessHandle.current().pid() + "-" + SERIALS.incrementAndGet();
    Path workDir;
    try {
      Path root = Path.of("target", "etcd-runs").toAbsolutePath();
      Files.createDirectories(root);
      workDir = Files.createTempDirectory(root, name + "-");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    EtcdProcess etcd =
        new EtcdProcess(name, workDir, ports.get(0), ports.get(1), ports.get(2), tls);
    etcd.start();
    return etcd;
  }

  /** The client URL, e.g. {@code http://127.0.0.1:41234} ({@code https://} with TLS). */
  public String endpoint() {
    return (tls == null ? "http" : "https") + "://127.0.0.1:" + clientPort;
  }

  /** Where {@code /health} is served: the client URL, or with TLS a plaintext metrics URL. */
  private String healthUrl() {
    return (tls == null ? endpoint() : "http://127.0.0.1:" + metricsPort) + "/health";
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
    List<String> command =
        new ArrayList<>(
            List.of(
                BINARY.toString(),
                "--name",
                name,
                "--data-dir",
                workDir.resolve("data").toString(),
                "--listen-client-urls",
                endpoint(),
                "--advertise-client-urls",
                endpoint(),
                "--listen-peer-urls",
                peerUrl,
                "--initial-advertise-peer-urls",
                peerUrl,
                "--initial-cluster",
                name + "=" + peerUrl,
                "--initial-cluster-state",
                "new",
                "--log-outputs",
                "stderr"));
    if (tls != null) {
      command.addAll(
          List.of(
              "--cert-file", tls.certFile().toString(),
              "--key-file", tls.keyFile().toString(),
              "--listen-metrics-urls", "http://127.0.0.1:" + metricsPort));
      tls.clientCaFile()
          .ifPresent(
              ca ->
                  command.addAll(
                      List.of("--trusted-ca-file", ca.toString(), "--client-cert-auth")));
    }
    try {
      process =
          new ProcessBuilder(command)
              .redirectErrorStream(true)
              .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile().toFile()))
              .start();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start " + BINARY, e);
    }
    long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
    while (System.nanoTime() < deadline) {
      if (!process.isAlive()) {
        throw new IllegalStateException(
            "etcd exited with " + process.exitValue() + "; log:\n" + logTail());
      }
      try {
        HttpProbe.Response health = HttpProbe.get(healthUrl());
        if (health.status() == 200 && health.body().contains("\"true\"")) {
          return;
        }
      } catch (RuntimeException notYet) {
        // Not listening yet.
      }
      sleep(Duration.ofMillis(50));
    }
    throw new IllegalStateException(
        "etcd not healthy within " + START_TIMEOUT + "; log:\n" + logTail());
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

  /**
   * Turns on etcd's authentication as an operator would: a root user (password {@code
   * root-<password>}), and {@code user} with a role that may read and write under {@code prefix}
   * only. {@code admin} is a client of this etcd without credentials.
   */
  public static void enableAuth(
      io.etcd.jetcd.Client admin, String user, String password, String prefix) {
    enableAuth(admin, user, password, prefix, io.etcd.jetcd.auth.Permission.Type.READWRITE);
  }

  /**
   * As {@link #enableAuth(io.etcd.jetcd.Client, String, String, String)}, with the role's
   * permission given.
   */
  public static void enableAuth(
      io.etcd.jetcd.Client admin,
      String user,
      String password,
      String prefix,
      io.etcd.jetcd.auth.Permission.Type permission) {
    io.etcd.jetcd.Auth auth = admin.getAuthClient();
    io.etcd.jetcd.ByteSequence from = bytes(prefix);
    String role = user + "-rw";
    try {
      auth.roleAdd(bytes("root")).get(10, TimeUnit.SECONDS);
      auth.userAdd(bytes("root"), bytes("root-" + password)).get(10, TimeUnit.SECONDS);
      auth.userGrantRole(bytes("root"), bytes("root")).get(10, TimeUnit.SECONDS);
      auth.roleAdd(bytes(role)).get(10, TimeUnit.SECONDS);
      auth.roleGrantPermission(
              bytes(role), from, io.etcd.jetcd.options.OptionsUtil.prefixEndOf(from), permission)
          .get(10, TimeUnit.SECONDS);
      auth.userAdd(bytes(user), bytes(password)).get(10, TimeUnit.SECONDS);
      auth.userGrantRole(bytes(user), bytes(role)).get(10, TimeUnit.SECONDS);
      auth.authEnable().get(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new IllegalStateException("cannot enable etcd's authentication", e);
    }
  }

  private static io.etcd.jetcd.ByteSequence bytes(String text) {
    return io.etcd.jetcd.ByteSequence.from(text, java.nio.charset.StandardCharsets.UTF_8);
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

  /**
   * A throwaway CA, a server certificate for 127.0.0.1 and localhost and a client certificate, all
   * signed by it; PEM files in {@code dir}, keys in PKCS#8. EC P-256, because it is quick to
   * generate.
   */
  public record Pki(Path caCert, Path serverCert, Path serverKey, Path clientCert, Path clientKey) {

    public static Pki create(Path dir) {
      try {
        Files.createDirectories(dir);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      TestCertificates.Authority ca =
          TestCertificates.authority("signalbox test etcd CA " + System.nanoTime());
      // etcd's own gateway dials etcd with the server certificate, so it must be good for client
      // auth too.
      IssuedCertificate server =
          ca.issue(
              BigInteger.TWO,
              "CN=etcd",
              List.of(CertificateUsage.SERVER, CertificateUsage.CLIENT),
              "127.0.0.1",
              "localhost");
      IssuedCertificate client =
          ca.issue(BigInteger.valueOf(3), "CN=signalbox", List.of(CertificateUsage.CLIENT));
      Pki pki =
          new Pki(
              dir.resolve("ca.crt"),
              dir.resolve("server.crt"),
              dir.resolve("server.key"),
              dir.resolve("client.crt"),
              dir.resolve("client.key"));
      TestCertificates.replace(pki.caCert(), ca.certificatePem());
      server.writeTo(pki.serverCert(), pki.serverKey());
      client.writeTo(pki.clientCert(), pki.clientKey());
      return pki;
    }
  }
}
