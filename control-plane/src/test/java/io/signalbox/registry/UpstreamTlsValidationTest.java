package io.signalbox.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.signalbox.model.TrafficPolicy;
import io.signalbox.registry.v1.RegisterRequest;
import io.signalbox.registry.v1.UpstreamTls;
import io.signalbox.testing.TestCertificates;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * TLS to a service's instances ({@code traffic.tls}): what the validator maps it to, and which
 * field it names when it refuses. Instances are always verified, so there is no way to ask for
 * anything less.
 */
class UpstreamTlsValidationTest {

  private static final String CA_PEM =
      TestCertificates.authority("Upstream TLS validation CA").certificatePem();

  private final RegistrationValidator validator =
      new RegistrationValidator(
          host -> Optional.of("10.0.0.1"),
          new DefaultRules() {
            @Override
            public Set<String> upstreamClientCertificatesFor(String service) {
              // The operator granted "gateway" to billing only.
              return service.equals("billing") ? Set.of("gateway") : Set.of();
            }
          });

  private static UpstreamTls.Builder tls() {
    return UpstreamTls.newBuilder().setSni("billing.internal").setCaPem(CA_PEM);
  }

  private static RegisterRequest request(UpstreamTls.Builder tls) {
    return RegisterRequest.newBuilder()
        .setService("billing")
        .setInstance(
            io.signalbox.registry.v1.Instance.newBuilder()
                .setId("billing-1")
                .setHost("10.0.0.7")
                .setPort(8443))
        .setTraffic(io.signalbox.registry.v1.TrafficPolicy.newBuilder().setTls(tls))
        .build();
  }

  private TrafficPolicy.UpstreamTls accepted(UpstreamTls.Builder tls) {
    return validator.validate(request(tls)).traffic().tls().orElseThrow();
  }

  private void assertRejected(UpstreamTls.Builder tls, String field, String message) {
    assertThatThrownBy(() -> validator.validate(request(tls)))
        .isInstanceOf(InvalidFieldException.class)
        .satisfies(e -> assertThat(((InvalidFieldException) e).field()).isEqualTo(field))
        .hasMessageStartingWith(field + ": ")
        .hasMessageContaining(message);
  }

  @Test
  void withoutTlsTheInstancesAreReachedInPlaintext() {
    RegisterRequest plain = request(tls()).toBuilder().clearTraffic().build();

    assertThat(validator.validate(plain).traffic().tls()).isEmpty();
  }

  @Test
  void theSniIsTheVerifiedNameUnlessSubjectAltNamesAreGiven() {
    TrafficPolicy.UpstreamTls bySni = accepted(tls());
    TrafficPolicy.UpstreamTls byNames =
        accepted(
            tls()
                .addSubjectAltNames("spiffe://example.test/ns/prod/sa/billing")
                .addSubjectAltNames("billing.prod.internal")
                .setClientCertificate("gateway"));

    assertThat(bySni.verifiedNames()).containsExactly("billing.internal");
    assertThat(bySni.clientCertificate()).isEmpty();
    assertThat(byNames.verifiedNames())
        .containsExactly("spiffe://example.test/ns/prod/sa/billing", "billing.prod.internal");
    assertThat(byNames.clientCertificate()).contains("gateway");
  }

  @Test
  void theSniMustBeALowercaseDnsName() {
    assertRejected(tls().setSni(""), "traffic.tls.sni", "is required");
    assertRejected(tls().setSni("Billing.internal"), "traffic.tls.sni", "not a lowercase DNS");
    assertRejected(tls().setSni("*.internal"), "traffic.tls.sni", "not a lowercase DNS");
    assertRejected(tls().setSni("10.0.0.7:8443"), "traffic.tls.sni", "not a lowercase DNS");
  }

  @Test
  void aCaBundleIsRequiredSinceInstancesAreAlwaysVerified() {
    assertRejected(tls().setCaPem(""), "traffic.tls.ca_pem", "always verified");
    assertRejected(tls().setCaPem("not a certificate"), "traffic.tls.ca_pem", "no PEM certificate");
    assertRejected(
        tls().setCaPem("-----BEGIN CERTIFICATE-----\nbm90IGRlcg==\n-----END CERTIFICATE-----\n"),
        "traffic.tls.ca_pem",
        "");
  }

  @Test
  void aCaBundleIsBoundedBeforeItIsParsed() {
    assertRejected(
        tls().setCaPem(CA_PEM.repeat(17)),
        "traffic.tls.ca_pem",
        "17 certificates; the limit is 16");
    assertRejected(
        tls().setCaPem(CA_PEM + " ".repeat(64 * 1024)), "traffic.tls.ca_pem", "the limit is 65536");
  }

  @Test
  void aPrivateKeyInTheCaBundleIsRefusedWithoutBeingEchoed() {
    String key =
        "-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWtleS1tYXRlcmlhbA==\n-----END PRIVATE KEY-----\n";

    assertThatThrownBy(() -> validator.validate(request(tls().setCaPem(CA_PEM + key))))
        .hasMessageContaining("traffic.tls.ca_pem: holds a private key")
        .hasMessageNotContaining("c2VjcmV0");
  }

  @Test
  void subjectAltNamesAreDnsNamesOrSpiffeIds() {
    assertRejected(
        tls().addSubjectAltNames("https://billing"),
        "traffic.tls.subject_alt_names[0]",
        "neither a lowercase DNS name nor a spiffe:// ID");
    assertRejected(
        tls().addSubjectAltNames("a.internal").addSubjectAltNames("a.internal"),
        "traffic.tls.subject_alt_names[1]",
        "listed twice");
    UpstreamTls.Builder many = tls();
    for (int i = 0; i < 9; i++) {
      many.addSubjectAltNames("n" + i + ".internal");
    }
    assertRejected(many, "traffic.tls.subject_alt_names", "9 names; the limit is 8");
  }

  @Test
  void theClientCertificateMustBeOneTheOperatorConfigured() {
    assertRejected(
        tls().setClientCertificate("someone-elses"),
        "traffic.tls.client_certificate",
        "not one of the operator's client certificates granted to this service [gateway]");
    assertThat(List.of(accepted(tls().setClientCertificate("gateway")).clientCertificate().get()))
        .containsExactly("gateway");
  }

  @Test
  void aClientCertificateNotGrantedToTheServiceIsRefusedAsIfUnknown() {
    RegisterRequest ledger =
        request(tls().setClientCertificate("gateway")).toBuilder().setService("ledger").build();

    assertThatThrownBy(() -> validator.validate(ledger))
        .isInstanceOf(InvalidFieldException.class)
        .hasMessage(
            "traffic.tls.client_certificate: 'gateway' is not one of the operator's client"
                + " certificates granted to this service []");
  }
}
