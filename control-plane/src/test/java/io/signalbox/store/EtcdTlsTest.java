package io.signalbox.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.etcd.jetcd.Client;
import io.signalbox.model.Instance;
import io.signalbox.model.PathMatch;
import io.signalbox.model.Registration;
import io.signalbox.model.RouteSpec;
import io.signalbox.security.SecretValue;
import io.signalbox.testing.EtcdProcess;
import io.signalbox.testing.EtcdProcess.Pki;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The etcd store on a real etcd that speaks TLS, asks for client certificates, or asks for a
 * password.
 */
class EtcdTlsTest {

  private static final Duration TIMEOUT = Duration.ofSeconds(2);
  private static final String PASSWORD = "s3cret-Pa55word";

  @TempDir Path dir;

  private EtcdProcess etcd;
  private final List<AutoCloseable> closing = new ArrayList<>();

  @AfterEach
  void stopAll() throws Exception {
    for (int i = closing.size() - 1; i >= 0; i--) {
      closing.get(i).close();
    }
    if (etcd != null) {
      etcd.close();
    }
  }

  @Test
  void aStoreConnectedOverMutualTlsRegistersAndReadsBack() {
    Pki pki = Pki.create(dir);
    etcd = mutualTlsEtcd(pki);
    EtcdConnection connection = tls(pki);

    EtcdRegistryStore a = connect(connection, "replica-a");
    Lease lease = a.register(registration("orders", "o1", "/orders"), Optional.empty());
    EtcdRegistryStore b = connect(connection, "replica-b");

    assertThat(b.state().services()).containsKey("orders");
    assertThat(b.engine().registeredInstances())
        .extracting(RegisteredInstance::leaseId)
        .containsExactly(lease.id());
    assertThat(b.renew(lease.id())).isPresent();
  }

  @Test
  void withoutAClientCertificateAMutualTlsEtcdRefusesTheStore() {
    Pki pki = Pki.create(dir);
    etcd = mutualTlsEtcd(pki);
    EtcdConnection caOnly =
        EtcdConnection.plaintext(List.of(etcd.endpoint()), TIMEOUT).withCaFile(pki.caCert());

    assertThatThrownBy(() -> connect(caOnly, "replica-a"))
        .isInstanceOf(StoreUnavailableException.class)
        .hasMessageContaining("requires a client certificate");
  }

  @Test
  void anEtcdWhoseCertificateIsNotSignedByTheGivenCaIsRefusedAtConnect() {
    Pki pki = Pki.create(dir);
    Pki other = Pki.create(Path.of(dir.toString(), "other"));
    etcd = mutualTlsEtcd(pki);
    EtcdConnection wrongCa =
        EtcdConnection.plaintext(List.of(etcd.endpoint()), TIMEOUT)
            .withCaFile(other.caCert())
            .withClientCertificate(pki.clientCert(), pki.clientKey());

    long started = System.nanoTime();
    assertThatThrownBy(() -> connect(wrongCa, "replica-a"))
        .isInstanceOf(StoreUnavailableException.class)
        .hasMessageContaining("not trusted")
        .hasMessageContaining(other.caCert().toString());
    // Refused, not retried until some long deadline.
    assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(10));
  }

  @Test
  void aStoreWithTheRightPasswordWorksAndAWrongOneIsRefusedWithoutShowingIt() {
    Pki pki = Pki.create(dir);
    etcd =
        EtcdProcess.launchWithTls(
            new EtcdProcess.Tls(pki.serverCert(), pki.serverKey(), Optional.empty()));
    EtcdConnection server =
        EtcdConnection.plaintext(List.of(etcd.endpoint()), TIMEOUT).withCaFile(pki.caCert());
    enableAuth(server, "signalbox", PASSWORD);

    EtcdRegistryStore store =
        connect(server.withCredentials("signalbox", SecretValue.of(PASSWORD)), "replica-a");
    store.register(registration("orders", "o1", "/orders"), Optional.empty());
    assertThat(store.state().services()).containsKey("orders");

    String wrong = PASSWORD + "-wrong";
    EtcdConnection wrongPassword = server.withCredentials("signalbox", SecretValue.of(wrong));
    assertThat(wrongPassword.toString()).doesNotContain(wrong).contains("[redacted]");
    assertThatThrownBy(() -> connect(wrongPassword, "replica-b"))
        .isInstanceOf(StoreUnavailableException.class)
        .hasMessageContaining("signalbox")
        .hasMessageContaining("password")
        .satisfies(e -> assertThat(fullText(e)).doesNotContain(wrong).doesNotContain(PASSWORD));

    assertThatThrownBy(() -> connect(server, "replica-c"))
        .as("without credentials")
        .isInstanceOf(StoreUnavailableException.class)
        .hasMessageContaining("user");
  }

  @Test
  void aUserWhoseRoleMayNotTouchTheRegistryIsRefusedSayingWhatItNeeds() {
    Pki pki = Pki.create(dir);
    etcd =
        EtcdProcess.launchWithTls(
            new EtcdProcess.Tls(pki.serverCert(), pki.serverKey(), Optional.empty()));
    EtcdConnection server =
        EtcdConnection.plaintext(List.of(etcd.endpoint()), TIMEOUT).withCaFile(pki.caCert());
    try (Client admin = EtcdClients.open(server)) {
      EtcdProcess.enableAuth(admin, "signalbox", PASSWORD, "/elsewhere/");
    }

    assertThatThrownBy(
            () ->
                connect(server.withCredentials("signalbox", SecretValue.of(PASSWORD)), "replica-a"))
        .isInstanceOf(StoreUnavailableException.class)
        .hasMessage(
            "etcd user signalbox may not read and write the registry: its role needs readwrite on the "
                + "prefix "
                + EtcdRegistryStore.ROOT);
  }

  @Test
  void aUserWhoseRoleMayOnlyReadTheRegistryIsRefusedAtOnceToo() {
    Pki pki = Pki.create(dir);
    etcd =
        EtcdProcess.launchWithTls(
            new EtcdProcess.Tls(pki.serverCert(), pki.serverKey(), Optional.empty()));
    EtcdConnection server =
        EtcdConnection.plaintext(List.of(etcd.endpoint()), TIMEOUT).withCaFile(pki.caCert());
    try (Client admin = EtcdClients.open(server)) {
      EtcdProcess.enableAuth(
          admin,
          "signalbox",
          PASSWORD,
          EtcdRegistryStore.ROOT,
          io.etcd.jetcd.auth.Permission.Type.READ);
    }

    assertThatThrownBy(
            () ->
                connect(server.withCredentials("signalbox", SecretValue.of(PASSWORD)), "replica-a"))
        .isInstanceOf(StoreUnavailableException.class)
        .hasMessage(
            "etcd user signalbox may not read and write the registry: its role needs readwrite on the "
                + "prefix "
                + EtcdRegistryStore.ROOT);
  }

  @Test
  void aKeyFileThatHoldsNoKeyStopsTheConnectNamingTheFileButNotItsContent() throws Exception {
    Pki pki = Pki.create(dir);
    Path notAKey = dir.resolve("not-a-key.pem");
    Files.writeString(
        notAKey,
        "-----BEGIN RSA PRIVATE KEY-----\nbm90LWEta2V5LWJ1dC1zZWNyZXQ=\n"
            + "-----END RSA PRIVATE KEY-----\n");
    EtcdConnection connection =
        EtcdConnection.plaintext(List.of("https://127.0.0.1:1"), TIMEOUT)
            .withCaFile(pki.caCert())
            .withClientCertificate(pki.clientCert(), notAKey);

    assertThatThrownBy(() -> connect(connection, "replica-a"))
        .isInstanceOf(StoreUnavailableException.class)
        .hasMessageContaining("cannot set up TLS to etcd")
        .hasMessageContaining(notAKey.toString())
        .satisfies(e -> assertThat(fullText(e)).doesNotContain("bm90LWEta2V5LWJ1dC1zZWNyZXQ="));
  }

  @Test
  void tlsFilesWithAPlaintextEndpointAreRefused() {
    assertThatThrownBy(
            () ->
                EtcdConnection.plaintext(List.of("http://127.0.0.1:2379"), TIMEOUT)
                    .withCaFile(dir.resolve("ca.crt")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("http://127.0.0.1:2379 is not https://");
  }

  /** Every message in the chain of causes, and the stack trace as printed. */
  private static String fullText(Throwable e) {
    java.io.StringWriter text = new java.io.StringWriter();
    e.printStackTrace(new java.io.PrintWriter(text));
    return text.toString();
  }

  private static EtcdProcess mutualTlsEtcd(Pki pki) {
    return EtcdProcess.launchWithTls(
        new EtcdProcess.Tls(pki.serverCert(), pki.serverKey(), Optional.of(pki.caCert())));
  }

  private EtcdConnection tls(Pki pki) {
    return EtcdConnection.plaintext(List.of(etcd.endpoint()), TIMEOUT)
        .withCaFile(pki.caCert())
        .withClientCertificate(pki.clientCert(), pki.clientKey());
  }

  private EtcdRegistryStore connect(EtcdConnection connection, String name) {
    EtcdRegistryStore store =
        EtcdRegistryStore.connect(connection, LeasePolicy.DEFAULT, name, Optional.empty());
    closing.add(store);
    return store;
  }

  /**
   * Authentication on, with {@code user} allowed to read and write {@code /signalbox/v1/}, as the
   * README says.
   */
  private static void enableAuth(EtcdConnection connection, String user, String password) {
    try (Client admin = EtcdClients.open(connection)) {
      EtcdProcess.enableAuth(admin, user, password, "/signalbox/v1/");
    }
  }

  private static Registration registration(String service, String instanceId, String prefix) {
    return new Registration(
        service,
        Instance.of(instanceId, "10.0.0.1", 8080),
        List.of(RouteSpec.builder(PathMatch.prefix(prefix)).build()));
  }
}
