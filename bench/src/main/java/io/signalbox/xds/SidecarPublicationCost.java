package io.signalbox.xds;

import io.signalbox.config.GatewaySettings;
import io.signalbox.model.RegistryState;
import io.signalbox.translate.PolicyHandover;
import java.time.Clock;
import java.time.Duration;
import java.util.List;

/**
 * The bench's way to the sidecar snapshots a publication makes ({@link SidecarSnapshots}), whose
 * making is the xds stage's own: this class sits in the stage's package to time it as the publisher
 * runs it.
 */
public final class SidecarPublicationCost {

  private final SidecarSnapshots sidecars =
      new SidecarSnapshots(
          MeshIdentities.ephemeral("signalbox.local", Duration.ofHours(1), Clock.systemUTC()));

  /** Makes what the sidecar groups of {@code services} are sent of {@code fleet}. */
  public void make(
      List<String> services,
      ContentVersionedSnapshot fleet,
      RegistryState state,
      GatewaySettings settings) {
    for (String service : services) {
      sidecars.base("sidecar/" + service, fleet, state, settings, PolicyHandover.NONE);
    }
  }
}
