package io.signalbox.xds;

import com.google.common.cache.Cache;
import com.google.common.cache.CacheBuilder;
import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.TlsCertificate;
import io.signalbox.ca.CertificateAuthority;
import io.signalbox.ca.CertificateRequest;
import io.signalbox.ca.CertificateUsage;
import io.signalbox.ca.IssuedCertificate;
import io.signalbox.ca.Pem;
import io.signalbox.metrics.SignalboxMetrics;
import io.signalbox.translate.XdsNames;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import javax.security.auth.x500.X500Principal;

/**
 * The workload certificates of the mesh: each sidecar fleet (and each edge fleet that calls
 * sidecars) gets a short-lived certificate for its SPIFFE ID, signed by the mesh CA and sent as the
 * SDS secret {@value XdsNames#MESH_IDENTITY_SECRET}, with the CA as {@value
 * XdsNames#MESH_TRUST_SECRET}. A certificate is issued again once half its validity has passed, so
 * Envoy holds the next one long before the current one expires; a new secret changes no listener or
 * cluster, and open connections keep their handshake.
 *
 * <p>The CA is the operator's, or one made on first use and held in memory only: a restart then
 * issues every certificate again from a new CA (Envoys take both at once), and replicas on etcd
 * would each have their own, so they need the operator's. With the operator's CA, replicas issue
 * byte-identical certificates for the same half-life window ({@link
 * io.signalbox.ca.CertificateAuthority#issueReproducibly}).
 */
public final class MeshIdentities {

  /** How long a workload certificate is valid when the operator does not say. */
  public static final Duration DEFAULT_VALIDITY = Duration.ofHours(1);

  private final Supplier<CertificateAuthority> ca;
  private final Duration validity;
  private final Clock clock;
  private final SignalboxMetrics metrics;

  /** A certificate and the half-life window it was issued for. */
  private record Issued(IssuedCertificate certificate, Instant window) {}

  private final Map<String, Issued> issued = new ConcurrentHashMap<>();

  private MeshIdentities(
      Supplier<CertificateAuthority> ca, Duration validity, Clock clock, SignalboxMetrics metrics) {
    this.ca = ca;
    this.validity = validity;
    this.clock = clock;
    this.metrics = metrics;
  }

  /** Certificates signed by {@code ca}. */
  public static MeshIdentities signedBy(CertificateAuthority ca, Duration validity, Clock clock) {
    return signedBy(ca, validity, clock, SignalboxMetrics.noop());
  }

  /** As {@link #signedBy(CertificateAuthority, Duration, Clock)}, each expiry a metric. */
  public static MeshIdentities signedBy(
      CertificateAuthority ca, Duration validity, Clock clock, SignalboxMetrics metrics) {
    return new MeshIdentities(() -> ca, validity, clock, metrics);
  }

  /** Certificates signed by a CA made on first use, for a year, held in memory only. */
  public static MeshIdentities ephemeral(String trustDomain, Duration validity, Clock clock) {
    return ephemeral(trustDomain, validity, clock, SignalboxMetrics.noop());
  }

  /** As {@link #ephemeral(String, Duration, Clock)}, each certificate's expiry a metric. */
  public static MeshIdentities ephemeral(
      String trustDomain, Duration validity, Clock clock, SignalboxMetrics metrics) {
    Supplier<CertificateAuthority> ca =
        com.google.common.base.Suppliers.memoize(
            () ->
                CertificateAuthority.create(
                    new X500Principal("CN=Signalbox mesh CA, O=" + trustDomain),
                    Optional.of(trustDomain),
                    Duration.ofDays(365),
                    clock));
    return new MeshIdentities(ca, validity, clock, metrics);
  }

  /** When the current certificate of {@code spiffeId} expires; empty if none was issued. */
  public Optional<Instant> expiry(String spiffeId) {
    return Optional.ofNullable(issued.get(spiffeId))
        .map(current -> current.certificate().certificate().getNotAfter().toInstant());
  }

  /**
   * The current certificate of {@code spiffeId}, issued anew when a new half-life window begins.
   * Near the CA's end a certificate ends with the CA, and once the CA has expired nothing can be
   * issued: the last certificate is kept (Envoy reports its expiry; the metric shows it) rather
   * than issuing again on every call or failing every publication.
   */
  public IssuedCertificate current(String spiffeId) {
    Instant window = window();
    // Asked for every sidecar group on every publication: a lookup, not a lock, while the window
    // lasts.
    Issued held = issued.get(spiffeId);
    if (held != null && held.window().equals(window)) {
      return held.certificate();
    }
    return issued
        .compute(
            spiffeId,
            (id, before) -> {
              if (before != null && before.window().equals(window)) {
                return before;
              }
              try {
                return new Issued(issue(id, window), window);
              } catch (IllegalStateException expiredCa) {
                if (before == null) {
                  throw expiredCa;
                }
                return before;
              }
            })
        .certificate();
  }

  /**
   * Lets go of the current certificate of {@code spiffeId}, an identity whose Envoys have all gone
   * (identities come and go with services, and each was kept for good), and of its expiry metric.
   * An Envoy of it that comes back is issued one again: the same for the same half-life window, as
   * certificates are issued reproducibly. Once the CA has expired nothing is let go.
   */
  public void forget(String spiffeId) {
    if (!ca.get().certificate().getNotAfter().toInstant().isAfter(clock.instant())) {
      // The CA has expired: nothing can be issued again, and the last certificate is what an
      // Envoy of this identity that comes back is sent (current).
      return;
    }
    if (issued.remove(spiffeId) != null) {
      metrics.meshCertificateRetired(spiffeId);
    }
  }

  /** A certificate's two secrets, and the CA certificate they name. */
  private record CertificateSecrets(X509Certificate caCertificate, List<Secret> secrets) {}

  /**
   * The secrets made for each certificate handed out (by identity, for as long as it is in use):
   * every publication asks for every sidecar group's, and the same objects are then known unchanged
   * without being serialized and hashed again.
   */
  private final Cache<IssuedCertificate, CertificateSecrets> secretsByCertificate =
      CacheBuilder.newBuilder().weakKeys().build();

  /**
   * The two secrets an Envoy of {@code spiffeId} is sent: its certificate, and the CA's; the same
   * objects for the same certificate and CA.
   */
  public List<Secret> secrets(IssuedCertificate certificate) {
    X509Certificate caCertificate = ca.get().certificate();
    CertificateSecrets made = secretsByCertificate.getIfPresent(certificate);
    if (made != null && made.caCertificate() == caCertificate) {
      return made.secrets();
    }
    List<Secret> secrets = newSecrets(certificate, caCertificate);
    secretsByCertificate.put(certificate, new CertificateSecrets(caCertificate, secrets));
    return secrets;
  }

  private static List<Secret> newSecrets(
      IssuedCertificate certificate, X509Certificate caCertificate) {
    return List.of(
        Secret.newBuilder()
            .setName(XdsNames.MESH_IDENTITY_SECRET)
            .setTlsCertificate(
                TlsCertificate.newBuilder()
                    .setCertificateChain(inline(certificate.certificatePem()))
                    .setPrivateKey(inline(certificate.privateKeyPem())))
            .build(),
        Secret.newBuilder()
            .setName(XdsNames.MESH_TRUST_SECRET)
            .setValidationContext(
                CertificateValidationContext.newBuilder()
                    .setTrustedCa(inline(Pem.certificate(caCertificate))))
            .build());
  }

  /**
   * The half-life window the clock is in: certificates are issued per window of half their
   * validity, so each is renewed at half-life, and within one {@link #current} answers each
   * identity with the same certificate.
   */
  Instant window() {
    long window = Math.max(1, validity.toMillis() / 2);
    return Instant.ofEpochMilli(Math.floorDiv(clock.millis(), window) * window);
  }

  /**
   * Issued for the half-life window the clock is in, reproducibly: every replica holding the same
   * CA makes the same certificate (key, serial, signature) for the same window, so Envoys that move
   * between replicas are sent the same secret version, and it is issued again when the next window
   * begins, at half its life.
   */
  private IssuedCertificate issue(String spiffeId, Instant start) {
    IssuedCertificate certificate =
        ca.get()
            .issueReproducibly(
                CertificateRequest.builder(spiffeId.substring(spiffeId.lastIndexOf('/') + 1))
                    .uri(spiffeId)
                    .usage(CertificateUsage.SERVER, CertificateUsage.CLIENT)
                    .validity(validity)
                    .build(),
                start);
    metrics.meshCertificateIssued(spiffeId, certificate.certificate().getNotAfter().toInstant());
    return certificate;
  }

  private static DataSource inline(String pem) {
    return DataSource.newBuilder().setInlineString(pem).build();
  }
}
