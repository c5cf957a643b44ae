package io.signalbox.xds;

import static org.assertj.core.api.Assertions.assertThat;

import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.signalbox.ca.IssuedCertificate;
import io.signalbox.translate.XdsNames;
import java.security.cert.CertificateParsingException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** Workload certificates: one per SPIFFE ID, issued again once half of its life has passed. */
class MeshIdentitiesTest {

  private static final String ORDERS = "spiffe://signalbox.local/service/orders";

  private final AtomicReference<Instant> now =
      new AtomicReference<>(Instant.parse("2026-12-04T10:00:00Z"));
  private final Clock clock =
      new Clock() {
        @Override
        public Instant instant() {
          return now.get();
        }

        @Override
        public java.time.ZoneId getZone() {
          return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
          return this;
        }
      };
  private final MeshIdentities mesh =
      MeshIdentities.ephemeral("signalbox.local", Duration.ofMinutes(10), clock);

  @Test
  void aCertificateNamesItsWorkloadBySpiffeId() throws CertificateParsingException {
    IssuedCertificate certificate = mesh.current(ORDERS);

    assertThat(
            certificate.certificate().getSubjectAlternativeNames().stream()
                .map(name -> String.valueOf(name.get(1)))
                .toList())
        .containsExactly(ORDERS);
    assertThat(certificate.certificate().getNotAfter().toInstant())
        .isEqualTo(now.get().plus(Duration.ofMinutes(10)));
  }

  @Test
  void theSameCertificateServesUntilHalfOfItsLifeHasPassed() {
    IssuedCertificate first = mesh.current(ORDERS);

    now.set(now.get().plus(Duration.ofMinutes(4)));
    assertThat(mesh.current(ORDERS)).isSameAs(first);

    now.set(now.get().plus(Duration.ofMinutes(1)));
    IssuedCertificate second = mesh.current(ORDERS);
    assertThat(second).isNotSameAs(first);
    assertThat(second.serial()).isNotEqualTo(first.serial());
    assertThat(mesh.current("spiffe://signalbox.local/service/users")).isNotSameAs(second);
  }

  @Test
  void anEnvoyIsSentItsCertificateAndTheMeshCa() {
    List<Secret> secrets = mesh.secrets(mesh.current(ORDERS));

    assertThat(secrets)
        .extracting(Secret::getName)
        .containsExactly(XdsNames.MESH_IDENTITY_SECRET, XdsNames.MESH_TRUST_SECRET);
    assertThat(secrets.get(0).getTlsCertificate().getPrivateKey().getInlineString())
        .startsWith("-----BEGIN PRIVATE KEY-----");
    assertThat(secrets.get(1).getValidationContext().getTrustedCa().getInlineString())
        .startsWith("-----BEGIN CERTIFICATE-----");
  }

  /** Identities whose certificates' expiries are metrics of {@code metrics}. */
  private MeshIdentities measuredBy(io.signalbox.metrics.SignalboxMetrics metrics) {
    return MeshIdentities.ephemeral("signalbox.local", Duration.ofMinutes(10), clock, metrics);
  }

  @Test
  void eachIdentitysExpiryIsAMetricAndAnswersTheAdminApi() {
    io.signalbox.metrics.SignalboxMetrics metrics =
        io.signalbox.metrics.SignalboxMetrics.prometheus();
    MeshIdentities measured = measuredBy(metrics);

    IssuedCertificate certificate = measured.current(ORDERS);

    Instant notAfter = certificate.certificate().getNotAfter().toInstant();
    assertThat(measured.expiry(ORDERS)).contains(notAfter);
    assertThat(measured.expiry("spiffe://signalbox.local/service/nobody")).isEmpty();
    String metric = "signalbox_mesh_certificate_expiry_seconds{identity=\"" + ORDERS + "\"} ";
    String line =
        metrics
            .scrape()
            .lines()
            .filter(l -> l.startsWith(metric))
            .findFirst()
            .orElseThrow(() -> new AssertionError("no " + metric + "in the scrape"));
    assertThat(Double.parseDouble(line.substring(metric.length())))
        .isEqualTo((double) notAfter.getEpochSecond());
    metrics.close();
  }

  @Test
  void aForgottenIdentityKeepsNoCertificateNorMetricAndIsIssuedTheSameOneIfItComesBack() {
    io.signalbox.metrics.SignalboxMetrics metrics =
        io.signalbox.metrics.SignalboxMetrics.prometheus();
    MeshIdentities measured = measuredBy(metrics);
    String users = "spiffe://signalbox.local/service/users";
    IssuedCertificate orders = measured.current(ORDERS);
    measured.current(users);

    measured.forget(ORDERS);

    assertThat(measured.expiry(ORDERS)).isEmpty();
    assertThat(measured.expiry(users)).isPresent();
    assertThat(metrics.scrape())
        .doesNotContain("identity=\"" + ORDERS + "\"")
        .contains("identity=\"" + users + "\"");
    IssuedCertificate again = measured.current(ORDERS);
    assertThat(again.certificate())
        .as("issued reproducibly for the same window: the Envoy is sent the same secret")
        .isEqualTo(orders.certificate());
    assertThat(metrics.scrape()).contains("identity=\"" + ORDERS + "\"");
    metrics.close();
  }

  /**
   * Replicas on etcd hold the operator's CA: each issues a workload certificate on its own, and
   * they must agree on it (key, serial, signature), or an Envoy moving between them would be sent a
   * new secret version each time. A new half-life window gives a new certificate.
   */
  @Test
  void replicasHoldingTheSameCaIssueTheSameCertificateForTheSameWindow() throws Exception {
    io.signalbox.ca.CertificateAuthority operatorCa =
        io.signalbox.ca.CertificateAuthority.create(
            new javax.security.auth.x500.X500Principal("CN=operator mesh CA"),
            java.util.Optional.of("signalbox.local"),
            Duration.ofDays(30),
            clock);
    MeshIdentities replicaA = replicaHolding(operatorCa);
    MeshIdentities replicaB = replicaHolding(operatorCa);

    IssuedCertificate fromA = replicaA.current(ORDERS);
    now.set(now.get().plus(Duration.ofMinutes(2)));
    IssuedCertificate fromB = replicaB.current(ORDERS);

    assertThat(fromB.certificatePem()).isEqualTo(fromA.certificatePem());
    assertThat(fromB.privateKeyPem()).isEqualTo(fromA.privateKeyPem());
    assertThat(replicaB.secrets(fromB)).isEqualTo(replicaA.secrets(fromA));
    fromA.certificate().verify(operatorCa.certificate().getPublicKey());
    assertThat(io.signalbox.tls.KeyMatch.matches(fromA.certificate(), fromA.privateKey()))
        .contains(true);

    now.set(now.get().plus(Duration.ofMinutes(3)));
    IssuedCertificate nextWindow = replicaB.current(ORDERS);
    assertThat(nextWindow.serial()).isNotEqualTo(fromA.serial());
    assertThat(nextWindow.privateKeyPem()).isNotEqualTo(fromA.privateKeyPem());
    assertThat(replicaA.current(ORDERS).certificatePem()).isEqualTo(nextWindow.certificatePem());
  }

  /**
   * Near its CA's end a certificate ends with the CA: it is still issued once per window, not on
   * every call, and once the CA has expired the last one is kept instead of failing every
   * publication.
   */
  @Test
  void nearAndAfterTheCasEndTheLastCertificateIsKept() {
    io.signalbox.ca.CertificateAuthority shortLived =
        io.signalbox.ca.CertificateAuthority.create(
            new javax.security.auth.x500.X500Principal("CN=short-lived mesh CA"),
            java.util.Optional.of("signalbox.local"),
            Duration.ofMinutes(13),
            clock);
    MeshIdentities mesh = MeshIdentities.signedBy(shortLived, Duration.ofMinutes(10), clock);
    now.set(now.get().plus(Duration.ofMinutes(11)));

    IssuedCertificate capped = mesh.current(ORDERS);
    assertThat(capped.certificate().getNotAfter().toInstant()).isEqualTo(shortLived.notAfter());
    assertThat(mesh.current(ORDERS)).isSameAs(capped);

    now.set(now.get().plus(Duration.ofMinutes(5)));
    assertThat(mesh.current(ORDERS)).isSameAs(capped);

    // Its Envoys leave and come back: nothing could be issued again, so the last one stays.
    mesh.forget(ORDERS);
    assertThat(mesh.current(ORDERS)).isSameAs(capped);
  }

  /** A replica's mesh identities, with the CA read from the operator's files as it would be. */
  private MeshIdentities replicaHolding(io.signalbox.ca.CertificateAuthority operatorCa) {
    return MeshIdentities.signedBy(
        io.signalbox.ca.CertificateAuthority.of(
            operatorCa.certificate(), operatorCa.privateKey(), clock),
        Duration.ofMinutes(10),
        clock);
  }
}
