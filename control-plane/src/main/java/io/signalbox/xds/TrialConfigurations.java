package io.signalbox.xds;

import io.envoyproxy.controlplane.cache.SnapshotConsistencyException;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.signalbox.config.GatewaySettings;
import io.signalbox.model.RegistryState;
import io.signalbox.model.ServiceState;
import io.signalbox.translate.XdsResources;
import io.signalbox.xds.NackQuarantine.Publication;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the quarantine tries: the last good configuration with some of the changes since, composed
 * from registry states and translated by the publisher's {@link SnapshotBuilder}, so that a trial
 * is versioned as the publication it would be.
 */
final class TrialConfigurations {

  private static final Logger log = LoggerFactory.getLogger(NackQuarantine.class);

  private final SnapshotBuilder snapshots;

  TrialConfigurations(SnapshotBuilder snapshots) {
    this.snapshots = snapshots;
  }

  /**
   * Translates and checks completeness; null (logged) for an incomplete translation, which is never
   * published.
   */
  Publication translate(RegistryState state, GatewaySettings settings) {
    return translate(state, settings, null);
  }

  /**
   * As {@link #translate(RegistryState, GatewaySettings)}, keeping the endpoints of {@code
   * endpointsFrom} that the trial lacks. An Envoy that got a new cluster in an earlier push (staged
   * or rejected) has asked for its endpoints, and the cache answers an EDS request only when every
   * name in it exists: without them, the trial's endpoints would never be sent, the cluster would
   * never warm and no verdict would come. Endpoints of a cluster that is not in CDS are ignored by
   * Envoy, so they change nothing a trial judges.
   */
  Publication translate(
      RegistryState state, GatewaySettings settings, ContentVersionedSnapshot endpointsFrom) {
    XdsResources resources = snapshots.translate(state, settings);
    if (endpointsFrom != null) {
      Map<String, ClusterLoadAssignment> endpoints = new TreeMap<>();
      endpointsFrom
          .resources()
          .endpoints()
          .forEach(cla -> endpoints.put(cla.getClusterName(), cla));
      resources.endpoints().forEach(cla -> endpoints.put(cla.getClusterName(), cla));
      resources =
          new XdsResources(
              resources.listeners(),
              resources.routes(),
              resources.clusters(),
              List.copyOf(endpoints.values()),
              resources.secrets(),
              resources.localZoneClusters());
    }
    ContentVersionedSnapshot snapshot;
    try {
      snapshot =
          endpointsFrom != null
              ? snapshots.build(resources, endpointsFrom)
              : snapshots.build(resources);
    } catch (SnapshotConsistencyException e) {
      log.error(
          "A quarantine trial translates to an incomplete snapshot, which is not published: {}",
          e.getMessage());
      return null;
    }
    return new Publication(snapshot, state, settings);
  }

  /** Services whose state differs, each with its state in {@code to} (empty: removed there). */
  static SortedMap<String, Optional<ServiceState>> changedServices(
      RegistryState from, RegistryState to) {
    SortedMap<String, Optional<ServiceState>> changes = new TreeMap<>();
    for (String name : to.servicesDifferingFrom(from)) {
      changes.put(name, Optional.ofNullable(to.services().get(name)));
    }
    return changes;
  }

  /**
   * {@code base} with the state in {@code target} of the {@code included} services; {@code
   * target}'s revision.
   */
  static RegistryState compose(
      RegistryState base, RegistryState target, SortedSet<String> included) {
    TreeMap<String, ServiceState> services = new TreeMap<>(base.services());
    for (String name : new TreeSet<>(included)) {
      ServiceState state = target.services().get(name);
      if (state == null) {
        services.remove(name);
      } else {
        services.put(name, state);
      }
    }
    return new RegistryState(target.revision(), services, target.changedBy());
  }
}
