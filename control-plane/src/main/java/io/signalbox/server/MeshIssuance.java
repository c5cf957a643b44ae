package io.signalbox.server;

import io.signalbox.ca.CertificateAuthority;
import io.signalbox.config.GatewaySettings;
import io.signalbox.metrics.SignalboxMetrics;
import io.signalbox.xds.MeshIdentities;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;

/**
 * What the workload certificates are issued by and for, as read at start: the mesh CA is made once,
 * by {@link #identities}, so {@link ControlPlane} compares a reloaded settings' issuance with this
 * to say when a change does not take effect.
 */
record MeshIssuance(Duration validity, Optional<X509Certificate> ca, String trustDomain) {

  static MeshIssuance of(GatewaySettings settings) {
    return new MeshIssuance(
        settings.sidecars().certificateValidity(),
        settings.sidecars().ca().map(CertificateAuthority::certificate),
        settings.access().trustDomain());
  }

  /**
   * What issues the sidecars' workload certificates: the CA the settings name, else one made in
   * memory for the trust domain.
   */
  static MeshIdentities identities(
      GatewaySettings settings, Clock clock, SignalboxMetrics metrics) {
    Duration certificateValidity = settings.sidecars().certificateValidity();
    return settings
        .sidecars()
        .ca()
        .map(ca -> MeshIdentities.signedBy(ca, certificateValidity, clock, metrics))
        .orElseGet(
            () ->
                MeshIdentities.ephemeral(
                    settings.access().trustDomain(), certificateValidity, clock, metrics));
  }
}
