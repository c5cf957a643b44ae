package io.signalbox.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.signalbox.ca.CertificateAuthority;
import io.signalbox.ca.IssuedCertificate;
import io.signalbox.ca.Pem;
import io.signalbox.xds.MeshIdentities;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;
import javax.security.auth.x500.X500Principal;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The operator's mesh CA (sidecars.ca): read, checked, and the signer of workload certificates. */
class MeshCaSettingsTest {

  @TempDir Path dir;

  private CertificateAuthority writeCa(String name) throws Exception {
    CertificateAuthority ca =
        CertificateAuthority.create(
            new X500Principal("CN=" + name),
            Optional.of("signalbox.local"),
            Duration.ofDays(30),
            Clock.systemUTC());
    Files.writeString(dir.resolve(name + ".pem"), Pem.certificate(ca.certificate()));
    Files.writeString(dir.resolve(name + "-key.pem"), Pem.privateKey(ca.privateKey()));
    return ca;
  }

  private GatewaySettings parse(String certificate, String key) {
    return GatewaySettingsLoader.parse(
        "sidecars: {ca: {certificateFile: " + certificate + ", privateKeyFile: " + key + "}}", dir);
  }

  @Test
  void workloadCertificatesAreSignedByTheOperatorsCa() throws Exception {
    CertificateAuthority written = writeCa("mesh-ca");

    CertificateAuthority loaded =
        parse("mesh-ca.pem", "mesh-ca-key.pem").sidecars().ca().orElseThrow();
    IssuedCertificate issued =
        MeshIdentities.signedBy(loaded, Duration.ofMinutes(10), Clock.systemUTC())
            .current("spiffe://signalbox.local/service/orders");

    assertThat(loaded.certificate()).isEqualTo(written.certificate());
    issued.certificate().verify(written.certificate().getPublicKey());
  }

  @Test
  void withoutOneTheMeshCaIsMadeInMemory() {
    assertThat(GatewaySettingsLoader.parse("sidecars: {outboundPort: 15001}", dir).sidecars().ca())
        .isEmpty();
  }

  @Test
  void aKeyThatIsNotTheCasIsRefusedNamingTheFieldAndNotTheKey() throws Exception {
    writeCa("mesh-ca");
    writeCa("other");
    String otherKey = Files.readString(dir.resolve("other-key.pem"));

    assertThatThrownBy(() -> parse("mesh-ca.pem", "other-key.pem"))
        .isInstanceOf(InvalidSettingsException.class)
        .hasMessageStartingWith("sidecars.ca: ")
        .hasMessageContaining("is not the key of the CA certificate")
        .satisfies(
            e ->
                assertThat(e.getMessage())
                    .doesNotContain(otherKey.lines().skip(1).findFirst().orElseThrow()));
  }

  @Test
  void aMissingFileIsNamed() {
    assertThatThrownBy(() -> parse("nowhere.pem", "nowhere-key.pem"))
        .isInstanceOf(InvalidSettingsException.class)
        .hasMessageStartingWith("sidecars.ca.certificateFile: ");
  }
}
