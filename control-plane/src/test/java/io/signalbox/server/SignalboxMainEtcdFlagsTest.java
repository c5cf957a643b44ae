package io.signalbox.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.etcd.jetcd.Client;
import io.signalbox.security.SecretValue;
import io.signalbox.store.EtcdConnection;
import io.signalbox.testing.EtcdProcess;
import io.signalbox.testing.TestControlPlanes;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code signalbox --store etcd} with TLS and credentials: a wrong or incomplete flag is one line
 * naming it and exit code 2, before anything starts; the password comes from a file and is never
 * shown.
 */
class SignalboxMainEtcdFlagsTest {

  private static final String ENDPOINT = "https://127.0.0.1:2379";

  @TempDir Path dir;

  private Path ca;
  private Path cert;
  private Path key;
  private Path passwordFile;

  @BeforeEach
  void files() throws Exception {
    ca = Files.writeString(dir.resolve("ca.crt"), "ca");
    cert = Files.writeString(dir.resolve("client.crt"), "cert");
    key = Files.writeString(dir.resolve("client.key"), "key");
    passwordFile = Files.writeString(dir.resolve("password"), "pa55-w0rd\n");
  }

  private record Run(int exitCode, String errors) {}

  private static Run signalbox(String... args) {
    List<String> all =
        new ArrayList<>(
            List.of("--insecure-plaintext", "--grpc-address", "127.0.0.1", "--grpc-port", "0"));
    all.addAll(List.of(args));
    ByteArrayOutputStream errors = new ByteArrayOutputStream();
    PrintStream originalErr = System.err;
    int exitCode;
    System.setErr(new PrintStream(errors, true, StandardCharsets.UTF_8));
    try {
      exitCode = new CommandLine(new SignalboxMain()).execute(all.toArray(String[]::new));
    } finally {
      System.setErr(originalErr);
    }
    return new Run(exitCode, errors.toString(StandardCharsets.UTF_8));
  }

  private static EtcdConnection parse(String... args) {
    SignalboxMain main = new SignalboxMain();
    new CommandLine(main).parseArgs(args);
    return main.etcdOptions.etcdConnection();
  }

  private static void assertUsageError(Run run, String message) {
    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.errors()).isEqualTo("signalbox: " + message + System.lineSeparator());
  }

  @Test
  void allFlagsMakeOneConnectionWithThePasswordFromTheFileWithoutItsLineBreak() {
    EtcdConnection connection =
        parse(
            "--store",
            "etcd",
            "--etcd-endpoints",
            ENDPOINT + ",https://10.0.0.2:2379",
            "--etcd-timeout",
            "3s",
            "--etcd-ca-file",
            ca.toString(),
            "--etcd-cert-file",
            cert.toString(),
            "--etcd-key-file",
            key.toString(),
            "--etcd-user",
            "signalbox",
            "--etcd-password-file",
            passwordFile.toString());

    assertThat(connection.endpoints()).containsExactly(ENDPOINT, "https://10.0.0.2:2379");
    assertThat(connection.timeout()).hasSeconds(3);
    assertThat(connection.caFile()).contains(ca);
    assertThat(connection.clientCertificate())
        .contains(new EtcdConnection.ClientCertificate(cert, key));
    assertThat(connection.credentials().orElseThrow().user()).isEqualTo("signalbox");
    assertThat(connection.credentials().orElseThrow().password().reveal()).isEqualTo("pa55-w0rd");
    assertThat(connection.toString()).doesNotContain("pa55-w0rd").contains("[redacted]");
  }

  @Test
  void aClientCertificateNeedsItsKeyAndTheOtherWayRound() {
    assertUsageError(
        signalbox(
            "--store", "etcd", "--etcd-endpoints", ENDPOINT, "--etcd-cert-file", cert.toString()),
        "--etcd-cert-file needs --etcd-key-file (the private key of the client certificate)");
    assertUsageError(
        signalbox(
            "--store", "etcd", "--etcd-endpoints", ENDPOINT, "--etcd-key-file", key.toString()),
        "--etcd-key-file needs --etcd-cert-file (the client certificate it belongs to)");
  }

  @Test
  void aUserNeedsAPasswordFileAndTheOtherWayRound() {
    assertUsageError(
        signalbox("--store", "etcd", "--etcd-endpoints", ENDPOINT, "--etcd-user", "signalbox"),
        "--etcd-user needs --etcd-password-file (the password is read from a file, never given as a flag)");
    assertUsageError(
        signalbox(
            "--store",
            "etcd",
            "--etcd-endpoints",
            ENDPOINT,
            "--etcd-password-file",
            passwordFile.toString()),
        "--etcd-password-file needs --etcd-user");
  }

  @Test
  void everyFileMustBeReadable() throws Exception {
    Path missing = dir.resolve("missing.crt");
    assertUsageError(
        signalbox(
            "--store", "etcd", "--etcd-endpoints", ENDPOINT, "--etcd-ca-file", missing.toString()),
        "--etcd-ca-file: cannot read " + missing + " (no such file)");
    assertUsageError(
        signalbox(
            "--store",
            "etcd",
            "--etcd-endpoints",
            ENDPOINT,
            "--etcd-cert-file",
            cert.toString(),
            "--etcd-key-file",
            dir.toString()),
        "--etcd-key-file: cannot read " + dir + " (a directory)");
    Path empty = Files.writeString(dir.resolve("empty"), "\n");
    assertUsageError(
        signalbox(
            "--store",
            "etcd",
            "--etcd-endpoints",
            ENDPOINT,
            "--etcd-user",
            "signalbox",
            "--etcd-password-file",
            empty.toString()),
        "--etcd-password-file: " + empty + " is empty");
  }

  @Test
  void tlsFilesNeedHttpsEndpoints() {
    assertUsageError(
        signalbox(
            "--store",
            "etcd",
            "--etcd-endpoints",
            "http://127.0.0.1:2379",
            "--etcd-ca-file",
            ca.toString()),
        "--etcd-endpoints: etcd endpoint http://127.0.0.1:2379 is not https://, "
            + "but TLS files are given: the client speaks TLS to every endpoint or to none");
  }

  @Test
  void etcdFlagsWithoutTheEtcdStoreAreAUsageError() {
    assertUsageError(
        signalbox("--in-memory", "--etcd-ca-file", ca.toString()),
        "--etcd-ca-file is only used with --store etcd");
    assertUsageError(
        signalbox(
            "--in-memory",
            "--etcd-user",
            "signalbox",
            "--etcd-password-file",
            passwordFile.toString()),
        "--etcd-user is only used with --store etcd");
  }

  @Test
  void theFlagsConnectionStartsAControlPlaneOverMutualTlsWithAPassword() throws Exception {
    EtcdProcess.Pki pki = EtcdProcess.Pki.create(dir.resolve("pki"));
    try (EtcdProcess etcd =
        EtcdProcess.launchWithTls(
            new EtcdProcess.Tls(pki.serverCert(), pki.serverKey(), Optional.of(pki.caCert())))) {
      try (Client client =
          Client.builder()
              .endpoints(etcd.endpoint())
              .sslContext(
                  ssl ->
                      ssl.trustManager(pki.caCert().toFile())
                          .keyManager(pki.clientCert().toFile(), pki.clientKey().toFile()))
              .build()) {
        EtcdProcess.enableAuth(client, "signalbox", "pa55-w0rd", "/signalbox/v1/");
      }
      EtcdConnection connection =
          parse(
              "--store",
              "etcd",
              "--etcd-endpoints",
              etcd.endpoint(),
              "--etcd-ca-file",
              pki.caCert().toString(),
              "--etcd-cert-file",
              pki.clientCert().toString(),
              "--etcd-key-file",
              pki.clientKey().toString(),
              "--etcd-user",
              "signalbox",
              "--etcd-password-file",
              passwordFile.toString());
      assertThat(connection)
          .isEqualTo(
              EtcdConnection.plaintext(List.of(etcd.endpoint()), Duration.ofSeconds(2))
                  .withCaFile(pki.caCert())
                  .withClientCertificate(pki.clientCert(), pki.clientKey())
                  .withCredentials("signalbox", SecretValue.of("pa55-w0rd")));

      try (ControlPlane controlPlane =
          ControlPlane.start(TestControlPlanes.onLoopback().etcd(connection).build())) {
        assertThat(controlPlane.grpcPort()).isPositive();
      }
    }
  }

  @Test
  void aWrongPasswordStopsTheStartWithoutShowingIt() throws Exception {
    try (EtcdProcess etcd = EtcdProcess.launch()) {
      try (Client admin = Client.builder().endpoints(etcd.endpoint()).build()) {
        EtcdProcess.enableAuth(admin, "signalbox", "the-right-one", "/signalbox/");
      }

      Run run =
          signalbox(
              "--store",
              "etcd",
              "--etcd-endpoints",
              etcd.endpoint(),
              "--etcd-user",
              "signalbox",
              "--etcd-password-file",
              passwordFile.toString());

      assertThat(run.exitCode()).isEqualTo(2);
      assertThat(run.errors())
          .contains("cannot read the registry from etcd [" + etcd.endpoint() + "]")
          .contains("etcd refused user signalbox: wrong user name or password")
          .contains("Refusing to start with an empty registry")
          .doesNotContain("pa55-w0rd");
    }
  }
}
