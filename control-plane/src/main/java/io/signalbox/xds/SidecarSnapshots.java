package io.signalbox.xds;

import io.signalbox.config.GatewaySettings;
import io.signalbox.model.RegistryState;
import io.signalbox.translate.SidecarTranslator;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * What each node group is sent of a publication: a sidecar group, its service's sidecar snapshot
 * ({@link SidecarTranslator}), made once per publication and service from the fleet's snapshot and
 * sharing its clusters and endpoints (objects and versions); any group, then, its zone's view
 * ({@link ContentVersionedSnapshot#forGroup}).
 */
final class SidecarSnapshots {

  private record Made(ContentVersionedSnapshot fleet, ContentVersionedSnapshot sidecar) {}

  private final Map<String, Made> byService = new ConcurrentHashMap<>();

  /**
   * What {@code group} is sent when the fleet is sent {@code fleet}, translated from {@code state}
   * with {@code settings}.
   */
  ContentVersionedSnapshot forGroup(
      String group, ContentVersionedSnapshot fleet, RegistryState state, GatewaySettings settings) {
    Optional<String> service = NodeGroups.sidecarService(group);
    if (service.isEmpty()) {
      return fleet.forGroup(group);
    }
    Made made =
        byService.compute(
            service.get(),
            (name, before) -> {
              if (before != null && before.fleet() == fleet) {
                return before;
              }
              ContentVersionedSnapshot sidecar =
                  before == null
                      ? ContentVersionedSnapshot.of(
                          SidecarTranslator.translate(fleet.resources(), state, settings, name),
                          fleet)
                      : ContentVersionedSnapshot.of(
                          SidecarTranslator.translate(fleet.resources(), state, settings, name),
                          fleet,
                          before.sidecar());
              return new Made(fleet, sidecar);
            });
    return made.sidecar().forGroup(group);
  }

  /** Whether {@code group} is a service's sidecars, which are sent a snapshot of their own. */
  static boolean isSidecarGroup(String group) {
    return NodeGroups.sidecarService(group).isPresent();
  }
}
