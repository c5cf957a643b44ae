package io.signalbox.xds;

import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.controlplane.cache.Resources.ResourceType;
import io.envoyproxy.controlplane.cache.v3.Snapshot;
import io.signalbox.config.GatewaySettings;
import io.signalbox.metrics.SignalboxMetrics;
import io.signalbox.model.RegistryState;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * The bench's way to the sidecar snapshots a publication sends ({@link KeptGroups#sendEach}, which
 * asks {@link SidecarSnapshots} for the groups the change reaches), whose making is the xds stage's
 * own: this class sits in the stage's package to time it as the publisher runs it.
 */
public final class SidecarPublicationCost {

  /**
   * Keeps what each group was sent last and finds what changed for it, as the cache does for a
   * group with open delta watches ({@code XdsSnapshotCache.setSnapshot}).
   */
  private static final class DifferencingCache implements GroupSnapshotCache {
    private final Map<String, Snapshot> held = new HashMap<>();

    @Override
    public Snapshot getSnapshot(String group) {
      return held.get(group);
    }

    @Override
    public void setSnapshot(String group, Snapshot snapshot) {
      Snapshot before = held.put(group, snapshot);
      if (before instanceof ContentVersionedSnapshot earlier
          && snapshot instanceof ContentVersionedSnapshot later) {
        for (ResourceType type : Resources.RESOURCE_TYPES_IN_ORDER) {
          if (!earlier.version(type, List.of()).equals(later.version(type, List.of()))) {
            later.changesSince(earlier, type);
          }
        }
      }
    }

    @Override
    public boolean clearSnapshot(String group) {
      held.remove(group);
      return true;
    }

    @Override
    public void setLastGood(Function<String, Snapshot> views) {}
  }

  private final KeptGroups groups =
      new KeptGroups(
          new DifferencingCache(),
          new SidecarSnapshots(
              MeshIdentities.ephemeral("signalbox.local", Duration.ofHours(1), Clock.systemUTC())),
          group -> true,
          SignalboxMetrics.noop());

  private boolean kept;

  /**
   * Sends the sidecar groups of {@code services} (kept from the first call on) their snapshots of
   * {@code fleet}, as a publication does.
   */
  public void make(
      List<String> services,
      ContentVersionedSnapshot fleet,
      RegistryState state,
      GatewaySettings settings) {
    if (!kept) {
      // As their Envoys connect: once, not per publication.
      for (String service : services) {
        groups.keep("sidecar/" + service);
      }
      kept = true;
    }
    groups.sendEach(fleet, state, settings);
  }
}
