package io.signalbox.bench;

import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.signalbox.testing.FreePorts;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code io.signalbox.server.SignalboxMain} in its own JVM, on loopback and free ports, so that its
 * heap and RSS are its own. Started with the bench JVM's class path.
 */
final class ControlPlaneProcess implements AutoCloseable {

  /** Heap figures from {@code jcmd GC.heap_info}, in KiB. */
  record HeapInfo(long usedKib, long committedKib, long metaspaceUsedKib, String raw) {
    double usedMib() {
      return usedKib / 1024.0;
    }
  }

  private static final Pattern HEAP_LINE = Pattern.compile("heap\\s+total (\\d+)K, used (\\d+)K");
  private static final Pattern METASPACE_LINE = Pattern.compile("Metaspace\\s+used (\\d+)K");
  private static final long JCMD_TIMEOUT_SECONDS = 30;

  /**
   * Mutual TLS for the control plane: its server certificate, and the client certificate the bench
   * presents (one identity for every simulated client, allowed by the access section the bench
   * writes).
   */
  record MutualTls(
      Path serverCert,
      Path serverKey,
      Path ca,
      Path clientCert,
      Path clientKey,
      String accessYaml) {
    List<String> arguments() {
      return List.of(
          "--tls-cert",
          serverCert.toString(),
          "--tls-key",
          serverKey.toString(),
          "--tls-ca",
          ca.toString());
    }

    io.grpc.ChannelCredentials clientCredentials() {
      try {
        return io.grpc.TlsChannelCredentials.newBuilder()
            .keyManager(clientCert.toFile(), clientKey.toFile())
            .trustManager(ca.toFile())
            .build();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  }

  private final Process process;
  private final int grpcPort;
  private final java.util.Optional<MutualTls> tls;
  private final Path logFile;
  private final List<String> command;

  private ControlPlaneProcess(
      Process process,
      int grpcPort,
      Path logFile,
      List<String> command,
      java.util.Optional<MutualTls> tls) {
    this.tls = tls;
    this.process = process;
    this.grpcPort = grpcPort;
    this.logFile = logFile;
    this.command = command;
  }

  /**
   * One listener on loopback; the simulated instances listen on loopback, which a gateway refuses
   * unless allowed.
   */
  private static Path gatewaySettingsFile(Path logFile, int gatewayPort, String extraYaml) {
    Path file = logFile.resolveSibling(logFile.getFileName() + ".gateway.yaml");
    try {
      Files.createDirectories(logFile.getParent());
      Files.writeString(
          file,
          "listeners: [{name: http, address: 127.0.0.1, port: "
              + gatewayPort
              + "}]\n"
              + "upstreams: {allowCidrs: [127.0.0.0/8]}\n"
              + extraYaml);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + file, e);
    }
    return file;
  }

  /** With the registry in memory only, as every bench but the store bench measures it. */
  static ControlPlaneProcess start(Path logFile, List<String> jvmOptions) {
    return start(logFile, jvmOptions, List.of("--in-memory"));
  }

  static ControlPlaneProcess start(Path logFile, List<String> jvmOptions, List<String> arguments) {
    return start(logFile, jvmOptions, arguments, java.util.Optional.empty());
  }

  /** Over mutual TLS on every port, or plaintext when {@code tls} is empty. */
  static ControlPlaneProcess start(
      Path logFile,
      List<String> jvmOptions,
      List<String> arguments,
      java.util.Optional<MutualTls> tls) {
    return start(logFile, jvmOptions, arguments, tls, "");
  }

  /** As above, with {@code settingsYaml} added to the gateway settings file. */
  static ControlPlaneProcess start(
      Path logFile,
      List<String> jvmOptions,
      List<String> arguments,
      java.util.Optional<MutualTls> tls,
      String settingsYaml) {
    List<Integer> ports = FreePorts.allocate(2);
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.addAll(jvmOptions);
    command.addAll(
        List.of("-cp", System.getProperty("java.class.path"), "io.signalbox.server.SignalboxMain"));
    command.addAll(tls.map(MutualTls::arguments).orElse(List.of("--insecure-plaintext")));
    command.addAll(
        List.of(
            "--grpc-address",
            "127.0.0.1",
            "--grpc-port",
            String.valueOf(ports.get(0)),
            "--admin-port",
            "0",
            "--metrics-port",
            "0",
            "--config",
            gatewaySettingsFile(
                    logFile, ports.get(1), tls.map(MutualTls::accessYaml).orElse("") + settingsYaml)
                .toString(),
            "--lease-ttl",
            "5m"));
    command.addAll(arguments);
    return launch(command, ports.get(0), logFile, tls);
  }

  /**
   * The bare java-control-plane baseline ({@link BareJavaControlPlane}) in its own JVM, plaintext,
   * with the same JVM options: what the benchmarks compare Signalbox with, in the same run.
   */
  static ControlPlaneProcess startBare(Path logFile, List<String> jvmOptions) {
    int port = FreePorts.allocate(1).get(0);
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.addAll(jvmOptions);
    command.addAll(
        List.of(
            "-cp",
            System.getProperty("java.class.path"),
            BareJavaControlPlane.class.getName(),
            "--grpc-port",
            String.valueOf(port)));
    return launch(command, port, logFile, java.util.Optional.empty());
  }

  private static ControlPlaneProcess launch(
      List<String> command, int grpcPort, Path logFile, java.util.Optional<MutualTls> tls) {
    Process process;
    try {
      process =
          new ProcessBuilder(command)
              .redirectErrorStream(true)
              .redirectOutput(logFile.toFile())
              .start();
      process.getOutputStream().close();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start the control plane: " + command, e);
    }
    ControlPlaneProcess controlPlane =
        new ControlPlaneProcess(process, grpcPort, logFile, command, tls);
    try {
      controlPlane.awaitServing(30);
    } catch (RuntimeException e) {
      controlPlane.close();
      throw e;
    }
    return controlPlane;
  }

  int grpcPort() {
    return grpcPort;
  }

  long pid() {
    return process.pid();
  }

  Path logFile() {
    return logFile;
  }

  boolean isAlive() {
    return process.isAlive();
  }

  List<String> jvmOptions() {
    int cp = command.indexOf("-cp");
    return command.subList(1, cp);
  }

  /** A new connection to the control plane's gRPC port, over mutual TLS when it runs with it. */
  NettyChannelBuilder channel() {
    return tls.map(
            t -> NettyChannelBuilder.forAddress("127.0.0.1", grpcPort, t.clientCredentials()))
        .orElseGet(() -> NettyChannelBuilder.forAddress("127.0.0.1", grpcPort).usePlaintext());
  }

  private void awaitServing(int seconds) {
    ManagedChannel channel = channel().build();
    try {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
      String last = "no answer";
      while (System.nanoTime() < deadline) {
        if (!process.isAlive()) {
          throw new IllegalStateException(
              "control plane exited with " + process.exitValue() + "; log: " + logFile);
        }
        try {
          HealthCheckResponse response =
              HealthGrpc.newBlockingStub(channel)
                  .withDeadlineAfter(1, TimeUnit.SECONDS)
                  .check(HealthCheckRequest.newBuilder().setService("").build());
          if (response.getStatus() == HealthCheckResponse.ServingStatus.SERVING) {
            return;
          }
          last = response.getStatus().toString();
        } catch (StatusRuntimeException e) {
          last = e.getStatus().toString();
        }
        Jvm.sleepMs(100);
      }
      throw new IllegalStateException(
          "control plane not SERVING after " + seconds + " s (" + last + "); log: " + logFile);
    } finally {
      channel.shutdownNow();
    }
  }

  /** {@code jcmd GC.run} (a full collection), then {@code jcmd GC.heap_info}. */
  HeapInfo heapAfterGc() {
    jcmd("GC.run");
    String info = jcmd("GC.heap_info");
    Matcher heap = HEAP_LINE.matcher(info);
    if (!heap.find()) {
      throw new IllegalStateException("cannot read the heap from jcmd GC.heap_info:\n" + info);
    }
    Matcher metaspace = METASPACE_LINE.matcher(info);
    long metaspaceKib = metaspace.find() ? Long.parseLong(metaspace.group(1)) : -1;
    return new HeapInfo(
        Long.parseLong(heap.group(2)), Long.parseLong(heap.group(1)), metaspaceKib, info.strip());
  }

  /** VmRSS from /proc/<pid>/status, in KiB; -1 if unavailable. */
  long rssKib() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc", String.valueOf(pid()), "status"))) {
        if (line.startsWith("VmRSS:")) {
          return Long.parseLong(line.substring("VmRSS:".length()).replace("kB", "").strip());
        }
      }
    } catch (IOException | NumberFormatException e) {
      // not Linux, or the process is gone
    }
    return -1;
  }

  /**
   * Heap bytes the control plane's threads have allocated since it started, those that ended
   * included ({@code ThreadMXBean.getTotalThreadAllocatedBytes}, read over JMX from the management
   * agent the first call starts in it through the attach API); -1 when it cannot be read. What it
   * allocates is what its young collections must go through: the pauses a round may land in.
   */
  long allocatedBytes() {
    try {
      if (threads == null) {
        com.sun.tools.attach.VirtualMachine vm =
            com.sun.tools.attach.VirtualMachine.attach(String.valueOf(pid()));
        String address;
        try {
          address = vm.startLocalManagementAgent();
        } finally {
          vm.detach();
        }
        jmx =
            javax.management.remote.JMXConnectorFactory.connect(
                new javax.management.remote.JMXServiceURL(address));
        threads =
            java.lang.management.ManagementFactory.newPlatformMXBeanProxy(
                jmx.getMBeanServerConnection(),
                java.lang.management.ManagementFactory.THREAD_MXBEAN_NAME,
                com.sun.management.ThreadMXBean.class);
      }
      return threads.getTotalThreadAllocatedBytes();
    } catch (IOException | RuntimeException | com.sun.tools.attach.AttachNotSupportedException e) {
      System.err.println("cannot read the control plane's allocated bytes: " + e);
      return -1;
    }
  }

  private javax.management.remote.JMXConnector jmx;
  private com.sun.management.ThreadMXBean threads;

  /**
   * User + system CPU time consumed so far, in ms, from /proc/<pid>/stat (assumes 100 clock
   * ticks/s).
   */
  long cpuMillis() {
    try {
      String stat = Files.readString(Path.of("/proc", String.valueOf(pid()), "stat"));
      // Fields after the parenthesised command name; utime and stime are fields 14 and 15 overall.
      String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
      return (Long.parseLong(fields[11]) + Long.parseLong(fields[12])) * 10;
    } catch (IOException | RuntimeException e) {
      return -1;
    }
  }

  private String jcmd(String command) {
    Path jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd");
    List<String> argv =
        List.of(
            Files.isExecutable(jcmd) ? jcmd.toString() : "jcmd", String.valueOf(pid()), command);
    try {
      Path out = Files.createTempFile("bench-jcmd", ".txt");
      try {
        Process p =
            new ProcessBuilder(argv).redirectErrorStream(true).redirectOutput(out.toFile()).start();
        if (!p.waitFor(JCMD_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
          p.destroyForcibly();
          throw new IllegalStateException(argv + " timed out");
        }
        String output = Files.readString(out, StandardCharsets.UTF_8);
        if (p.exitValue() != 0) {
          throw new IllegalStateException(argv + " exited " + p.exitValue() + ":\n" + output);
        }
        return output;
      } finally {
        Files.deleteIfExists(out);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot run " + argv, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted running " + argv, e);
    }
  }

  /** SIGTERM (the control plane's shutdown hook closes it), then SIGKILL after 5 s. */
  /** kill -9: no shutdown hook, no flush. */
  void kill() throws InterruptedException {
    process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
  }

  @Override
  public void close() {
    if (jmx != null) {
      try {
        jmx.close();
      } catch (IOException e) {
        // the process is going anyway
      }
    }
    process.destroy();
    try {
      if (!process.waitFor(5, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public String toString() {
    return "control plane pid " + pid() + " on 127.0.0.1:" + grpcPort + " (log " + logFile + ")";
  }
}
