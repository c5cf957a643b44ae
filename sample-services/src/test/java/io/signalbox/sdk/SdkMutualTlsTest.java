package io.signalbox.sdk;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.awaitility.Awaitility.await;

import io.grpc.Grpc;
import io.grpc.Server;
import io.grpc.Status;
import io.signalbox.client.Registration;
import io.signalbox.client.RegistrationException;
import io.signalbox.client.RegistryClient;
import io.signalbox.client.Routes;
import io.signalbox.client.ServiceRegistration;
import io.signalbox.config.GatewaySettings;
import io.signalbox.security.TransportSecurity;
import io.signalbox.server.ControlPlane;
import io.signalbox.server.ControlPlaneConfig;
import io.signalbox.server.SignalboxMain;
import io.signalbox.testing.Closer;
import io.signalbox.testing.FreePorts;
import io.signalbox.testing.TestCertificates;
import io.signalbox.translate.XdsNames;
import io.signalbox.xds.ContentVersionedSnapshot;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * The Java SDK against a control plane on mutual TLS, with certificates made by {@code signalbox
 * ca} as the demo makes them: a service registers as the identity its certificate names, a client
 * without a certificate registers nothing, the SDK trusts only a control plane whose certificate
 * names the address it dialled, and replaced certificate files are presented on the next connection
 * without restarting the client.
 */
class SdkMutualTlsTest {

  private static final String ORDERS_IDENTITY = "spiffe://signalbox.local/service/orders";
  private static final Duration PUBLISHED_WITHIN = Duration.ofSeconds(5);

  /** Two TLS reload intervals, a reconnect and a registration, on a loaded machine. */
  private static final Duration RECOVERY = Duration.ofSeconds(20);

  @TempDir Path temp;

  private final Closer owned = new Closer();

  @AfterEach
  void closeEverything() {
    owned.close();
  }

  @Test
  void aServiceRegistersOverMutualTlsAsTheIdentityItsCertificateNames() {
    Path pki = certificateAuthority("pki");
    ControlPlane controlPlane = startControlPlane(pki, 0);
    RegistryClient sdk =
        client(
            controlPlane.grpcPort(),
            pki.resolve("orders.pem"),
            pki.resolve("orders-key.pem"),
            pki.resolve("ca.pem"));

    Registration registration = sdk.register(orders());

    assertThat(registration.leaseId()).isNotBlank();
    await("orders to be published")
        .atMost(PUBLISHED_WITHIN)
        .until(() -> published(controlPlane, "orders"));
    RegistrationException refused =
        catchThrowableOfType(
            RegistrationException.class, () -> sdk.register(registration("users")));
    assertThat(refused.status().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
    assertThat(refused.status().getDescription())
        .contains("identity '" + ORDERS_IDENTITY + "'")
        .contains("'users'");
    assertThat(published(controlPlane, "users")).isFalse();
  }

  @Test
  void anSdkWithoutACertificateIsRefusedAndRegistersNothing() {
    Path pki = certificateAuthority("pki");
    ControlPlane controlPlane = startControlPlane(pki, 0);
    RegistryClient plaintext =
        own(
            RegistryClient.builder()
                .target("127.0.0.1:" + controlPlane.grpcPort())
                .registrationTimeout(Duration.ofSeconds(1))
                .shutdownHook(false)
                .build());

    RegistrationException refused =
        catchThrowableOfType(RegistrationException.class, () -> plaintext.register(orders()));

    assertThat(refused.status().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
    assertThat(published(controlPlane, "orders")).isFalse();
  }

  @Test
  void theSdkRefusesAServerWhoseCertificateDoesNotNameTheAddressItDialledEvenIfTheCaSignedIt()
      throws IOException {
    // Every certificate `signalbox ca issue` makes may serve TLS: here a server presents the orders
    // service's.
    Path pki = certificateAuthority("pki");
    ScheduledExecutorService reloads = Executors.newSingleThreadScheduledExecutor();
    owned.add(reloads::shutdownNow);
    TransportSecurity.Credentials impostor =
        TransportSecurity.mutualTls(
                pki.resolve("orders.pem"), pki.resolve("orders-key.pem"), pki.resolve("ca.pem"))
            .serverCredentials(reloads);
    owned.add(impostor);
    Server server = Grpc.newServerBuilderForPort(0, impostor.credentials()).build().start();
    owned.add(server::shutdownNow);
    RegistryClient sdk =
        own(
            RegistryClient.builder()
                .target("127.0.0.1:" + server.getPort())
                .mutualTls(
                    pki.resolve("orders.pem"), pki.resolve("orders-key.pem"), pki.resolve("ca.pem"))
                .registrationTimeout(Duration.ofSeconds(1))
                .shutdownHook(false)
                .build());

    RegistrationException refused =
        catchThrowableOfType(RegistrationException.class, () -> sdk.register(orders()));

    // Had the handshake passed, this server (which serves no registry) would have answered
    // UNIMPLEMENTED.
    assertThat(refused.status().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
    assertThat(causes(refused))
        .anySatisfy(message -> assertThat(message).containsIgnoringCase("127.0.0.1"));
  }

  @Test
  void aMissingCertificateFileFailsBuildNamingTheFile() {
    Path pki = certificateAuthority("pki");
    Path missing = pki.resolve("payments.pem");

    assertThatThrownBy(
            () ->
                RegistryClient.builder()
                    .target("127.0.0.1:1")
                    .mutualTls(missing, pki.resolve("orders-key.pem"), pki.resolve("ca.pem"))
                    .build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(missing.toString())
        .hasMessageNotContaining("PRIVATE KEY");
  }

  @Test
  void replacedCertificateFilesArePresentedOnTheNextConnectionWithoutRestartingTheClient()
      throws IOException {
    Path oldCa = certificateAuthority("old");
    Path newCa = certificateAuthority("new");
    Path files = Files.createDirectory(temp.resolve("orders-files"));
    copyClientFiles(oldCa, files);
    int port = FreePorts.allocate();
    ControlPlane before = startControlPlane(oldCa, port);
    RegistryClient sdk =
        client(
            port,
            files.resolve("orders.pem"),
            files.resolve("orders-key.pem"),
            files.resolve("ca.pem"));
    sdk.register(orders());
    await("orders to be published")
        .atMost(PUBLISHED_WITHIN)
        .until(() -> published(before, "orders"));

    // The operator moves to a new CA: the service's files are replaced while it runs, then the
    // control plane
    // restarts trusting only the new CA and serving its certificate (and, in memory, forgets every
    // lease).
    copyClientFiles(newCa, files);
    before.close();
    ControlPlane after = startControlPlane(newCa, port);

    // Registering again needs both new files on the new connection: the old certificate is not
    // trusted any more,
    // and the old CA does not trust the new server certificate.
    await("orders to register again over a new connection with the new files")
        .atMost(RECOVERY)
        .pollInterval(Duration.ofMillis(100))
        .until(() -> published(after, "orders"));
  }

  // --- helpers ---

  /**
   * {@code signalbox ca init}, then the control plane's certificate and the orders service's, as
   * demo.sh does.
   */
  private Path certificateAuthority(String name) {
    Path dir = temp.resolve(name);
    signalbox("ca", "init", "--dir", dir.toString());
    signalbox(
        "ca",
        "issue",
        "--dir",
        dir.toString(),
        "--name",
        "signalbox",
        "--identity",
        "spiffe://signalbox.local/control-plane",
        "--dns",
        "localhost",
        "--ip",
        "127.0.0.1");
    signalbox(
        "ca", "issue", "--dir", dir.toString(), "--name", "orders", "--identity", ORDERS_IDENTITY);
    return dir;
  }

  private static void signalbox(String... args) {
    assertThat(new CommandLine(new SignalboxMain()).execute(args))
        .as("signalbox %s", String.join(" ", args))
        .isZero();
  }

  private static void copyClientFiles(Path ca, Path to) throws IOException {
    for (String file : List.of("orders.pem", "orders-key.pem", "ca.pem")) {
      TestCertificates.replace(to.resolve(file), Files.readString(ca.resolve(file)));
    }
  }

  private ControlPlane startControlPlane(Path pki, int port) {
    ControlPlane controlPlane =
        ControlPlane.start(
            ControlPlaneConfig.builder()
                .transport(
                    TransportSecurity.mutualTls(
                        pki.resolve("signalbox.pem"),
                        pki.resolve("signalbox-key.pem"),
                        pki.resolve("ca.pem")))
                .grpcAddress("127.0.0.1")
                .grpcPort(port)
                .adminPort(0)
                .metricsPort(0)
                .gateway(GatewaySettings.plaintext("127.0.0.1", FreePorts.allocate()))
                .build());
    owned.add(controlPlane);
    return controlPlane;
  }

  private RegistryClient client(int port, Path certificate, Path key, Path ca) {
    return own(
        RegistryClient.builder()
            .target("127.0.0.1:" + port)
            .mutualTls(certificate, key, ca)
            .reconnectBackoff(Duration.ofMillis(50), Duration.ofMillis(500))
            .shutdownHook(false)
            .build());
  }

  private RegistryClient own(RegistryClient client) {
    return owned.add(client);
  }

  private static ServiceRegistration orders() {
    return registration("orders");
  }

  /**
   * At a documentation address (TEST-NET-1): nothing here sends it traffic, and no address policy
   * refuses it.
   */
  private static ServiceRegistration registration(String service) {
    return ServiceRegistration.builder(service)
        .instance(service + "-1", "192.0.2.10", 8080)
        .route(Routes.prefix("/" + service))
        .build();
  }

  private static boolean published(ControlPlane controlPlane, String service) {
    ContentVersionedSnapshot snapshot = controlPlane.publisher().current();
    return snapshot != null
        && snapshot.clusters().resources().containsKey(XdsNames.serviceCluster(service));
  }

  private static List<String> causes(Throwable error) {
    List<String> messages = new ArrayList<>();
    for (Throwable cause = error; cause != null; cause = cause.getCause()) {
      messages.add(String.valueOf(cause.getMessage()));
    }
    return messages;
  }
}
