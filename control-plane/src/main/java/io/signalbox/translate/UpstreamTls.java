package io.signalbox.translate;

import com.google.common.net.InetAddresses;
import com.google.protobuf.Any;
import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.config.core.v3.TransportSocket;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SdsSecretConfig;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SubjectAltNameMatcher;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.signalbox.model.TrafficPolicy;
import java.util.List;

/**
 * Shared builder: TLS from Envoy to an upstream, always verified (trusted CAs and the names the
 * certificate must carry), as a cluster's transport socket. Used by service clusters ({@code
 * traffic.tls}) and the clusters that fetch remote JWKS.
 */
final class UpstreamTls {

  private UpstreamTls() {}

  /**
   * A service's TLS: its CAs inline (they are not secret), {@code clientCertificate} by SDS (the
   * private key travels only as a secret), ALPN offering the service's HTTP version.
   */
  static TransportSocket serviceTransportSocket(
      TrafficPolicy.UpstreamTls tls, java.util.Optional<String> clientCertificate, boolean http2) {
    CommonTlsContext.Builder common =
        CommonTlsContext.newBuilder()
            .setValidationContext(
                validation(
                    DataSource.newBuilder().setInlineString(tls.caPem()).build(),
                    tls.verifiedNames()))
            // An instance that speaks both picks the one the cluster is configured for.
            .addAlpnProtocols(http2 ? "h2" : "http/1.1");
    clientCertificate.ifPresent(
        name ->
            common.addTlsCertificateSdsSecretConfigs(
                SdsSecretConfig.newBuilder()
                    .setName(XdsNames.upstreamClientSecret(name))
                    .setSdsConfig(XdsNames.adsConfigSource())));
    return transportSocket(
        UpstreamTlsContext.newBuilder().setSni(tls.sni()).setCommonTlsContext(common).build());
  }

  /**
   * Mutual TLS to a sidecar's inbound listener: the calling Envoy's workload certificate and the
   * mesh CA by SDS ({@link XdsNames#MESH_IDENTITY_SECRET}, {@link XdsNames#MESH_TRUST_SECRET}), and
   * the callee must prove {@code calleeIdentity}.
   */
  static TransportSocket meshTransportSocket(String calleeIdentity, boolean http2) {
    CommonTlsContext common =
        CommonTlsContext.newBuilder()
            .addTlsCertificateSdsSecretConfigs(meshSecret(XdsNames.MESH_IDENTITY_SECRET))
            .setCombinedValidationContext(
                CommonTlsContext.CombinedCertificateValidationContext.newBuilder()
                    .setDefaultValidationContext(
                        CertificateValidationContext.newBuilder()
                            .addMatchTypedSubjectAltNames(subjectAltName(calleeIdentity)))
                    .setValidationContextSdsSecretConfig(meshSecret(XdsNames.MESH_TRUST_SECRET)))
            .addAlpnProtocols(http2 ? "h2" : "http/1.1")
            .build();
    return transportSocket(UpstreamTlsContext.newBuilder().setCommonTlsContext(common).build());
  }

  static SdsSecretConfig meshSecret(String name) {
    return SdsSecretConfig.newBuilder()
        .setName(name)
        .setSdsConfig(XdsNames.adsConfigSource())
        .build();
  }

  /** Verification against {@code trustedCa}, accepting a certificate that carries any of names. */
  static CertificateValidationContext validation(DataSource trustedCa, List<String> names) {
    CertificateValidationContext.Builder validation =
        CertificateValidationContext.newBuilder().setTrustedCa(trustedCa);
    names.forEach(name -> validation.addMatchTypedSubjectAltNames(subjectAltName(name)));
    return validation.build();
  }

  static TransportSocket transportSocket(UpstreamTlsContext context) {
    return TransportSocket.newBuilder()
        .setName(XdsNames.TLS_TRANSPORT_SOCKET)
        .setTypedConfig(Any.pack(context))
        .build();
  }

  /** A name as a SAN of its kind: a URI (SPIFFE ID), an IP address or a DNS name. */
  private static SubjectAltNameMatcher subjectAltName(String name) {
    SubjectAltNameMatcher.SanType type =
        name.contains("://")
            ? SubjectAltNameMatcher.SanType.URI
            : InetAddresses.isInetAddress(name)
                ? SubjectAltNameMatcher.SanType.IP_ADDRESS
                : SubjectAltNameMatcher.SanType.DNS;
    return SubjectAltNameMatcher.newBuilder()
        .setSanType(type)
        .setMatcher(StringMatcher.newBuilder().setExact(name))
        .build();
  }
}
