package io.signalbox.ca;

import static org.assertj.core.api.Assertions.assertThat;

import io.signalbox.security.Identity;
import io.signalbox.security.PeerIdentities;
import io.signalbox.server.SignalboxMain;
import io.signalbox.tls.KeyMatch;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.PrivateKey;
import java.security.cert.CertPathValidator;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import picocli.CommandLine;

/** {@code signalbox ca init} and {@code signalbox ca issue}, run as an operator runs them. */
class CaCommandTest {

  private static final String SERVER_AUTH = "1.3.6.1.5.5.7.3.1";
  private static final String CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";
  private static final int URI = 6;
  private static final int DNS = 2;
  private static final int IP = 7;

  @TempDir Path temp;

  /** Exit code and what the command printed. */
  record Run(int exitCode, String out, String err) {}

  private static Run signalbox(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine command =
        new CommandLine(new SignalboxMain())
            .setOut(new PrintWriter(out, true))
            .setErr(new PrintWriter(err, true));
    int exitCode = command.execute(args);
    return new Run(exitCode, out.toString(), err.toString());
  }

  private Path initCa(String... extra) {
    Path dir = temp.resolve("pki");
    Run init = signalbox(concat(List.of("ca", "init", "--dir", dir.toString()), extra));
    assertThat(init.exitCode()).as(init.err()).isZero();
    return dir;
  }

  /** {@code signalbox ca issue} of the CA in {@code dir} for orders, with {@code extra} flags. */
  private static Run issueOrders(Path dir, String... extra) {
    return signalbox(concat(issueOrdersArguments(dir), extra));
  }

  private static List<String> issueOrdersArguments(Path dir) {
    return List.of(
        "ca",
        "issue",
        "--dir",
        dir.toString(),
        "--name",
        "orders",
        "--identity",
        "spiffe://signalbox.local/service/orders");
  }

  private static String[] concat(List<String> first, String... rest) {
    return java.util.stream.Stream.concat(first.stream(), java.util.Arrays.stream(rest))
        .toArray(String[]::new);
  }

  @Test
  void initWritesASelfSignedCaForTheTrustDomainWithAnOwnerOnlyKeyInAnOwnerOnlyDirectory()
      throws Exception {
    Path dir = temp.resolve("new/pki");

    Run init =
        signalbox("ca", "init", "--dir", dir.toString(), "--trust-domain", "corp.example.com");

    assertThat(init.exitCode()).as(init.err()).isZero();
    assertThat(init.out())
        .contains(
            dir.resolve("ca.pem").toString(),
            dir.resolve("ca-key.pem").toString(),
            "corp.example.com")
        .doesNotContain("PRIVATE KEY");
    assertThat(permissions(dir.resolve("ca-key.pem"))).isEqualTo("rw-------");
    assertThat(permissions(dir.resolve("ca.pem"))).isEqualTo("rw-r--r--");
    assertThat(permissions(dir)).isEqualTo("rwx------");
    X509Certificate ca = certificate(dir.resolve("ca.pem"));
    assertThat(ca.getBasicConstraints()).as("a CA that signs no further CAs").isZero();
    assertThat(ca.getSubjectX500Principal()).isEqualTo(ca.getIssuerX500Principal());
    ca.verify(ca.getPublicKey());
    assertThat(names(ca, URI)).containsExactly("spiffe://corp.example.com");
    assertThat(ca.getNotAfter().toInstant())
        .isBetween(
            Instant.now().plus(Duration.ofDays(3649)), Instant.now().plus(Duration.ofDays(3650)));
    assertThat(ca.getPublicKey().getAlgorithm()).isEqualTo("EC");
    assertKeyBelongsTo(Pem.readPrivateKey(dir.resolve("ca-key.pem")), ca);
  }

  @Test
  void initRefusesToReplaceAnExistingCaUnlessForcedNamingTheFile() throws IOException {
    Path dir = initCa();
    byte[] certificate = Files.readAllBytes(dir.resolve("ca.pem"));
    byte[] key = Files.readAllBytes(dir.resolve("ca-key.pem"));

    Run again = signalbox("ca", "init", "--dir", dir.toString());

    assertThat(again.exitCode()).isEqualTo(2);
    assertThat(again.err())
        .startsWith("signalbox ca init: " + dir.resolve("ca.pem") + " already exists")
        .contains("--force");
    assertThat(Files.readAllBytes(dir.resolve("ca.pem"))).isEqualTo(certificate);
    assertThat(Files.readAllBytes(dir.resolve("ca-key.pem"))).isEqualTo(key);

    Run forced = signalbox("ca", "init", "--dir", dir.toString(), "--force");

    assertThat(forced.exitCode()).as(forced.err()).isZero();
    assertThat(Files.readAllBytes(dir.resolve("ca.pem"))).isNotEqualTo(certificate);
    assertThat(Files.readAllBytes(dir.resolve("ca-key.pem"))).isNotEqualTo(key);
  }

  @Test
  void issueWritesAServerAndClientCertificateThatChainsToTheCaAndNamesTheIdentityAndHosts()
      throws Exception {
    Path dir = initCa();

    Run issue =
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
            "signalbox.signalbox.local",
            "--dns",
            "LocalHost",
            "--ip",
            "127.0.0.1",
            "--ip",
            "::1");

    assertThat(issue.exitCode()).as(issue.err()).isZero();
    assertThat(issue.out())
        .contains(
            dir.resolve("signalbox.pem").toString(), dir.resolve("signalbox-key.pem").toString())
        .doesNotContain("PRIVATE KEY");
    assertThat(permissions(dir.resolve("signalbox-key.pem"))).isEqualTo("rw-------");
    X509Certificate ca = certificate(dir.resolve("ca.pem"));
    X509Certificate leaf = certificate(dir.resolve("signalbox.pem"));
    assertChainsTo(leaf, ca);
    assertKeyBelongsTo(Pem.readPrivateKey(dir.resolve("signalbox-key.pem")), leaf);
    assertThat(leaf.getBasicConstraints()).as("not a CA").isEqualTo(-1);
    assertThat(leaf.getExtendedKeyUsage()).containsExactlyInAnyOrder(SERVER_AUTH, CLIENT_AUTH);
    assertThat(names(leaf, URI)).containsExactly("spiffe://signalbox.local/control-plane");
    assertThat(names(leaf, DNS)).containsExactly("signalbox.signalbox.local", "localhost");
    assertThat(names(leaf, IP)).containsExactly("127.0.0.1", "0:0:0:0:0:0:0:1");
    assertThat(PeerIdentities.of(leaf))
        .as("the identity the control plane reads")
        .contains(new Identity("spiffe://signalbox.local/control-plane"));
    assertThat(leaf.getNotAfter().toInstant())
        .isBetween(
            Instant.now().plus(Duration.ofDays(90)).minusSeconds(300),
            Instant.now().plus(Duration.ofDays(90)));
  }

  @Test
  void issuingANameAgainReplacesItsFilesWithANewKeyForRotation() throws Exception {
    Path dir = initCa();
    assertThat(issueOrders(dir).exitCode()).isZero();
    X509Certificate first = certificate(dir.resolve("orders.pem"));

    assertThat(issueOrders(dir).exitCode()).isZero();

    X509Certificate second = certificate(dir.resolve("orders.pem"));
    assertThat(second.getSerialNumber()).isNotEqualTo(first.getSerialNumber());
    assertThat(second.getPublicKey()).isNotEqualTo(first.getPublicKey());
    assertKeyBelongsTo(Pem.readPrivateKey(dir.resolve("orders-key.pem")), second);
    assertThat(permissions(dir.resolve("orders-key.pem"))).isEqualTo("rw-------");
  }

  @Test
  void aCertificateNeverOutlivesItsCa() throws Exception {
    Path dir = initCa("--days", "30");

    assertThat(issueOrders(dir, "--days", "90").exitCode()).isZero();

    assertThat(certificate(dir.resolve("orders.pem")).getNotAfter())
        .isEqualTo(certificate(dir.resolve("ca.pem")).getNotAfter());
  }

  @Test
  void issueWithoutACaNamesTheMissingFileAndHowToMakeOne() {
    Path dir = temp.resolve("empty");

    Run issue = issueOrders(dir);

    assertThat(issue.exitCode()).isEqualTo(2);
    assertThat(issue.err())
        .contains(dir.resolve("ca.pem").toString())
        .contains("signalbox ca init --dir " + dir);
    assertThat(dir).doesNotExist();
  }

  @Test
  void aCaKeyThatIsNotTheCertificatesKeyIsRefusedNamingTheFiles() throws IOException {
    Path dir = initCa();
    Path other = temp.resolve("other");
    assertThat(signalbox("ca", "init", "--dir", other.toString()).exitCode()).isZero();
    Files.copy(
        other.resolve("ca-key.pem"),
        dir.resolve("ca-key.pem"),
        java.nio.file.StandardCopyOption.REPLACE_EXISTING);

    Run issue = issueOrders(dir);

    assertThat(issue.exitCode()).isEqualTo(2);
    assertThat(issue.err())
        .contains(dir.resolve("ca-key.pem").toString())
        .contains("is not the key")
        .doesNotContain("PRIVATE KEY");
    assertThat(dir.resolve("orders.pem")).doesNotExist();
  }

  @ParameterizedTest(name = "{0} {1}")
  @CsvSource(
      delimiter = '|',
      textBlock =
          """
      --identity | spiffe://example.com/service/orders | --identity: 'spiffe://example.com/service/orders' lies outside the CA's trust domain 'signalbox.local'
      --identity | https://signalbox.local/service/orders | --identity: 'https://signalbox.local/service/orders' is not a SPIFFE ID
      --identity | spiffe://signalbox.local/service/../admin | is not a SPIFFE ID
      --identity | spiffe://signalbox.local | is not a SPIFFE ID
      --dns      | 127.0.0.1 | --dns: '127.0.0.1' is an IP address; give it with --ip
      --dns      | bad_host!.local | --dns: 'bad_host!.local' is not a DNS name
      --ip       | localhost | --ip: 'localhost' is not an IP address
      --name     | ca | --name: 'ca' would write over the CA's own files
      --name     | orders-key | --name: 'orders-key' would write over the key file of 'orders'
      --name     | ../orders | --name: '../orders' is not a file name
      --days     | 0 | --days: must be at least 1
      """)
  void aBadFlagValueIsRefusedNamingTheFlagAndWritesNothing(
      String flag, String value, String message) throws IOException {
    Path dir = initCa();
    List<String> args = new java.util.ArrayList<>(issueOrdersArguments(dir));
    int at = args.indexOf(flag);
    if (at >= 0) {
      args.set(at + 1, value);
    } else {
      args.addAll(List.of(flag, value));
    }

    Run issue = signalbox(args.toArray(String[]::new));

    assertThat(issue.exitCode()).isEqualTo(2);
    assertThat(issue.err()).startsWith("signalbox ca issue: ").contains(message);
    try (var files = Files.list(dir)) {
      assertThat(files.map(file -> file.getFileName().toString()))
          .containsExactlyInAnyOrder("ca.pem", "ca-key.pem");
    }
  }

  // --- helpers ---

  private static String permissions(Path file) throws IOException {
    return PosixFilePermissions.toString(Files.getPosixFilePermissions(file));
  }

  private static X509Certificate certificate(Path file) {
    return Pem.readCertificate(file);
  }

  private static List<String> names(X509Certificate certificate, int type) throws Exception {
    return certificate.getSubjectAlternativeNames().stream()
        .filter(name -> name.get(0).equals(type))
        .map(name -> (String) name.get(1))
        .toList();
  }

  private static void assertChainsTo(X509Certificate leaf, X509Certificate ca) throws Exception {
    PKIXParameters parameters = new PKIXParameters(Set.of(new TrustAnchor(ca, null)));
    parameters.setRevocationEnabled(false);
    CertPathValidator.getInstance("PKIX")
        .validate(
            CertificateFactory.getInstance("X.509").generateCertPath(List.of(leaf)), parameters);
  }

  private static void assertKeyBelongsTo(PrivateKey key, X509Certificate certificate) {
    assertThat(KeyMatch.matches(certificate, key))
        .as("the key signs what the certificate's public key verifies")
        .contains(true);
  }
}
