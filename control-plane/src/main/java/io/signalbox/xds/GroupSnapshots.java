package io.signalbox.xds;

import io.signalbox.config.GatewaySettings;
import io.signalbox.model.RegistryState;
import io.signalbox.translate.PolicyHandover;
import java.time.Instant;
import java.util.Collection;
import java.util.Optional;
import java.util.Set;

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

  /**
   * The services whose changes alone may change what {@link #base} makes for {@code group}, {@code
   * made} being what it made last, as long as the settings, the handover and the {@link
   * #certificateWindow} stay: a scoped sidecar group's own service and those it calls. Empty when
   * any change to the fleet may change it (an edge group; a sidecar group whose service names no
   * callees), or when {@code made} is not one of the last two made for the group (two: its Envoys
   * are judged both by the publication just sent and by the last one they all accepted). The
   * pipeline then asks only the groups a change reaches ({@link GroupReach}).
   */
  default Optional<Set<String>> decidedOnlyBy(String group, ContentVersionedSnapshot made) {
    return Optional.empty();
  }

  /**
   * The window of time the workload certificates made now belong to: what any group is sent may
   * change when it moves. Groups made of the whole fleet ({@link #decidedOnlyBy} empty) need none.
   */
  default Instant certificateWindow() {
    return Instant.EPOCH;
  }
}
