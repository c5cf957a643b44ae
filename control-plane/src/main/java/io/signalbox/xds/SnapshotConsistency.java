package io.signalbox.xds;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.signalbox.translate.XdsResources;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Checks that a snapshot is complete: every route configuration a listener names over RDS, and a load assignment
 * for every EDS cluster. Over ADS, Envoy waits for each named resource, so a missing one stalls the stream.
 *
 * <p>java-control-plane's {@code ensureConsistent()} recognizes the HTTP connection manager only under its
 * long-deprecated filter name; this check goes by the type URL, which is what Envoy itself uses.
 */
final class SnapshotConsistency {

  private static final String HCM_TYPE_URL = "type.googleapis.com/" + HttpConnectionManager.getDescriptor().getFullName();

  private SnapshotConsistency() {
  }

  /** The problems found; empty when the snapshot is complete. */
  static List<String> problems(XdsResources resources) {
    List<String> problems = new ArrayList<>();
    Set<String> routeConfigurations = resources.routes().stream().map(RouteConfiguration::getName)
        .collect(Collectors.toSet());
    for (Listener listener : resources.listeners()) {
      for (FilterChain chain : listener.getFilterChainsList()) {
        for (Filter filter : chain.getFiltersList()) {
          String rds = rdsName(filter.getTypedConfig());
          if (rds != null && !routeConfigurations.contains(rds)) {
            problems.add("listener " + listener.getName() + " names missing route configuration " + rds);
          }
        }
      }
    }
    Set<String> assignments = resources.endpoints().stream().map(ClusterLoadAssignment::getClusterName)
        .collect(Collectors.toSet());
    for (Cluster cluster : resources.clusters()) {
      if (cluster.getType() == Cluster.DiscoveryType.EDS) {
        String name = cluster.getEdsClusterConfig().getServiceName().isEmpty()
            ? cluster.getName() : cluster.getEdsClusterConfig().getServiceName();
        if (!assignments.contains(name)) {
          problems.add("EDS cluster " + cluster.getName() + " has no load assignment " + name);
        }
      }
    }
    return problems;
  }

  private static String rdsName(Any config) {
    if (!config.getTypeUrl().equals(HCM_TYPE_URL)) {
      return null;
    }
    try {
      HttpConnectionManager manager = config.unpack(HttpConnectionManager.class);
      return manager.hasRds() ? manager.getRds().getRouteConfigName() : null;
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("unreadable HttpConnectionManager in a listener", e);
    }
  }
}
