package io.signalbox.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.signalbox.testing.FreePorts;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** {@code signalbox --store etcd} refuses to start rather than serve an empty registry. */
class EtcdStoreStartTest {

  private record Run(int exitCode, String errors) {}

  private static Run signalbox(String... args) {
    ByteArrayOutputStream errors = new ByteArrayOutputStream();
    PrintStream originalErr = System.err;
    int exitCode;
    System.setErr(new PrintStream(errors, true, StandardCharsets.UTF_8));
    try {
      exitCode = new CommandLine(new SignalboxMain()).execute(args);
    } finally {
      System.setErr(originalErr);
    }
    return new Run(exitCode, errors.toString(StandardCharsets.UTF_8));
  }

  @Test
  void etcdWithoutEndpointsIsAUsageError() {
    Run run =
        signalbox(
            "--insecure-plaintext",
            "--grpc-address",
            "127.0.0.1",
            "--grpc-port",
            "0",
            "--store",
            "etcd");

    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.errors()).contains("--store etcd needs --etcd-endpoints");
  }

  @Test
  void endpointsWithoutTheEtcdStoreAreAUsageError() {
    Run run =
        signalbox(
            "--insecure-plaintext",
            "--grpc-address",
            "127.0.0.1",
            "--grpc-port",
            "0",
            "--in-memory",
            "--etcd-endpoints",
            "http://127.0.0.1:2379");

    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.errors()).contains("--etcd-endpoints is only used with --store etcd");
  }

  @Test
  void anUnreachableEtcdStopsTheStart() {
    String endpoint = "http://127.0.0.1:" + FreePorts.allocate();

    Run run =
        signalbox(
            "--insecure-plaintext",
            "--grpc-address",
            "127.0.0.1",
            "--grpc-port",
            "0",
            "--store",
            "etcd",
            "--etcd-endpoints",
            endpoint,
            "--etcd-timeout",
            "1s");

    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.errors())
        .contains("cannot read the registry from etcd [" + endpoint + "]")
        .contains("Refusing to start with an empty registry");
  }
}
