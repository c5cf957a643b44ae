package io.signalbox.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.signalbox.security.TransportSecurity;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class SignalboxMainTlsFlagsTest {

  @TempDir Path dir;

  private static TransportSecurity transport(String... args) {
    SignalboxMain main = new SignalboxMain();
    new CommandLine(main).parseArgs(args);
    return main.transportSecurity();
  }

  @Test
  void withoutTlsFilesAndWithoutTheInsecureFlagSignalboxRefusesToStart() {
    assertThatThrownBy(SignalboxMainTlsFlagsTest::transport)
        .hasMessageStartingWith("no TLS configured: give --tls-cert, --tls-key and --tls-ca")
        .hasMessageContaining("--insecure-plaintext");
    assertThat(
            new CommandLine(new SignalboxMain())
                .execute("--grpc-address", "127.0.0.1", "--grpc-port", "0", "--in-memory"))
        .isEqualTo(2);
  }

  @Test
  void plaintextIsChosenByNameAndExcludesTlsFiles() throws IOException {
    assertThat(transport("--insecure-plaintext").isTls()).isFalse();
    Path cert = Files.writeString(dir.resolve("cert.pem"), "x");
    assertThatThrownBy(() -> transport("--insecure-plaintext", "--tls-cert", cert.toString()))
        .hasMessage("--insecure-plaintext and --tls-cert/--tls-key/--tls-ca exclude each other");
  }

  @Test
  void mutualTlsNeedsAllThreeReadableFiles() throws IOException {
    Path cert = Files.writeString(dir.resolve("cert.pem"), "x");
    Path key = Files.writeString(dir.resolve("key.pem"), "x");

    assertThatThrownBy(() -> transport("--tls-cert", cert.toString(), "--tls-key", key.toString()))
        .hasMessage(
            "mutual TLS needs all three of --tls-cert, --tls-key and --tls-ca; missing: --tls-ca");
    assertThatThrownBy(
            () ->
                transport(
                    "--tls-cert",
                    cert.toString(),
                    "--tls-key",
                    key.toString(),
                    "--tls-ca",
                    dir.resolve("missing.pem").toString()))
        .hasMessageStartingWith("--tls-ca: cannot read");
    assertThat(
            transport(
                    "--tls-cert",
                    cert.toString(),
                    "--tls-key",
                    key.toString(),
                    "--tls-ca",
                    cert.toString())
                .isTls())
        .isTrue();
  }

  @Test
  void unreadableTlsMaterialStopsTheStartNamingTheFileNotItsContents() throws IOException {
    Path cert = Files.writeString(dir.resolve("cert.pem"), "not a certificate");
    Path key = Files.writeString(dir.resolve("key.pem"), "SECRET-KEY-MATERIAL");

    assertThatThrownBy(
            () ->
                TransportSecurity.mutualTls(cert, key, cert)
                    .serverCredentials(
                        java.util.concurrent.Executors.newSingleThreadScheduledExecutor()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(cert.toString())
        .hasMessageNotContaining("SECRET-KEY-MATERIAL");
  }
}
