package io.signalbox.xds;

import io.signalbox.config.GatewaySettings;
import io.signalbox.model.RegistryState;
import io.signalbox.translate.PolicyHandover;
import java.time.Instant;
import java.util.Collection;
import java.util.Optional;

/**
 * What each node group is sent of a publication, as the pipeline asks for it: {@link
 * SidecarSnapshots} makes it. Making one group's snapshot may fail (its workload certificate cannot
 * be issued, say); the pipeline then leaves that group on what it holds.
 */
public interface GroupSnapshots {

  /**
   * What {@code group} is sent when the fleet is sent {@code fleet}, translated from {@code state}
   * with {@code settings} and {@code handover}, before its zone's view is taken ({@link
   * ContentVersionedSnapshot#forGroup}).
   */
  ContentVersionedSnapshot base(
      String group,
      ContentVersionedSnapshot fleet,
      RegistryState state,
      GatewaySettings settings,
      PolicyHandover handover);

  /**
   * Lets go of what was made for {@code group} once no group of {@code remaining} shares it: its
   * Envoys have gone.
   */
  void forget(String group, Collection<String> remaining);

  /**
   * {@code held}, what {@code group} was last sent, with its workload certificate renewed when its
   * certificate's half-life has passed; {@code held} itself when it holds none or the certificate
   * is current. {@code settings} are those {@code held} was made with. Publishing may be held
   * (paused by an operator, or a change it cannot publish) for longer than a certificate lives.
   */
  ContentVersionedSnapshot withCertificateRenewed(
      String group, ContentVersionedSnapshot held, GatewaySettings settings);

  /** When the workload certificate the Envoys of {@code group} hold expires; empty when none. */
  Optional<Instant> certificateExpiry(String group, GatewaySettings settings);
}
