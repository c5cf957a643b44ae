package io.signalbox.xds;

import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.controlplane.cache.Resources.ResourceType;
import io.signalbox.config.GatewaySettings;
import io.signalbox.model.RegistryState;
import io.signalbox.translate.PolicyHandover;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The bench's way to the sidecar snapshots a publication makes ({@link SidecarSnapshots}), whose
 * making is the xds stage's own: this class sits in the stage's package to time it as the publisher
 * runs it.
 */
public final class SidecarPublicationCost {

  private final SidecarSnapshots sidecars =
      new SidecarSnapshots(
          MeshIdentities.ephemeral("signalbox.local", Duration.ofHours(1), Clock.systemUTC()));

  /** What each group was sent last. */
  private final Map<String, ContentVersionedSnapshot> sent = new HashMap<>();

  /**
   * Makes what the sidecar groups of {@code services} are sent of {@code fleet}, and finds what
   * changed for each since its last snapshot, as the cache does for a group with open delta watches
   * ({@code XdsSnapshotCache.setSnapshot}).
   */
  public void make(
      List<String> services,
      ContentVersionedSnapshot fleet,
      RegistryState state,
      GatewaySettings settings) {
    for (String service : services) {
      String group = "sidecar/" + service;
      ContentVersionedSnapshot snapshot =
          sidecars.base(group, fleet, state, settings, PolicyHandover.NONE);
      ContentVersionedSnapshot before = sent.put(group, snapshot);
      if (before != null && before != snapshot) {
        for (ResourceType type : Resources.RESOURCE_TYPES_IN_ORDER) {
          if (!before.version(type, List.of()).equals(snapshot.version(type, List.of()))) {
            snapshot.changesSince(before, type);
          }
        }
      }
    }
  }
}
