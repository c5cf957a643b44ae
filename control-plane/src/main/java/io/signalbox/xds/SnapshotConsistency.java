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
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SdsSecretConfig;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.signalbox.translate.XdsResources;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Checks that a snapshot is complete: every route configuration a listener names over RDS, every
 * certificate secret a TLS listener names over SDS, and a load assignment for every EDS cluster.
 * Over ADS, Envoy waits for each named resource, so a missing one stalls the stream (a listener
 * waiting for its secret never starts serving).
 *
 * <p>java-control-plane's {@code ensureConsistent()} recognizes the HTTP connection manager only
 * under its long-deprecated filter name; this check goes by the type URL, which is what Envoy
 * itself uses.
 */
final class SnapshotConsistency {

  private static final String HCM_TYPE_URL =
      "type.googleapis.com/" + HttpConnectionManager.getDescriptor().getFullName();
  private static final String DOWNSTREAM_TLS_TYPE_URL =
      "type.googleapis.com/" + DownstreamTlsContext.getDescriptor().getFullName();

  private SnapshotConsistency() {}

  /** The problems found; empty when the snapshot is complete. */
  static List<String> problems(XdsResources resources) {
    return problems(
        resources,
        resources.endpoints().stream()
            .map(ClusterLoadAssignment::getClusterName)
            .collect(Collectors.toSet()));
  }

  /**
   * @param assignments the names of {@code resources}' load assignments (a snapshot has them as its
   *     map's keys already)
   */
  static List<String> problems(XdsResources resources, Set<String> assignments) {
    List<String> problems = new ArrayList<>();
    Set<String> routeConfigurations =
        resources.routes().stream().map(RouteConfiguration::getName).collect(Collectors.toSet());
    Set<String> secrets =
        resources.secrets().stream().map(Secret::getName).collect(Collectors.toSet());
    for (Listener listener : resources.listeners()) {
      List<FilterChain> chains = new ArrayList<>(listener.getFilterChainsList());
      if (listener.hasDefaultFilterChain()) {
        chains.add(listener.getDefaultFilterChain());
      }
      for (FilterChain chain : chains) {
        for (Filter filter : chain.getFiltersList()) {
          String rds = rdsName(filter.getTypedConfig());
          if (rds != null && !routeConfigurations.contains(rds)) {
            problems.add(
                "listener " + listener.getName() + " names missing route configuration " + rds);
          }
        }
        if (chain.hasTransportSocket()) {
          for (String secret : sdsSecretNames(chain.getTransportSocket().getTypedConfig())) {
            if (!secrets.contains(secret)) {
              problems.add("listener " + listener.getName() + " names missing secret " + secret);
            }
          }
        }
      }
    }
    problems.addAll(clusterProblems(resources.clusters(), assignments));
    // A certificate serves both its SNI chain and the default chain: one missing secret is one
    // problem.
    return problems.stream().distinct().toList();
  }

  /**
   * The EDS clusters of {@code clusters} without their load assignment among {@code assignments}.
   */
  static List<String> clusterProblems(List<Cluster> clusters, Set<String> assignments) {
    List<String> problems = new ArrayList<>();
    for (Cluster cluster : clusters) {
      if (cluster.getType() == Cluster.DiscoveryType.EDS) {
        String name =
            cluster.getEdsClusterConfig().getServiceName().isEmpty()
                ? cluster.getName()
                : cluster.getEdsClusterConfig().getServiceName();
        if (!assignments.contains(name)) {
          problems.add("EDS cluster " + cluster.getName() + " has no load assignment " + name);
        }
      }
    }
    return problems;
  }

  private static List<String> sdsSecretNames(Any config) {
    if (!config.getTypeUrl().equals(DOWNSTREAM_TLS_TYPE_URL)) {
      return List.of();
    }
    try {
      DownstreamTlsContext context = config.unpack(DownstreamTlsContext.class);
      return context.getCommonTlsContext().getTlsCertificateSdsSecretConfigsList().stream()
          .map(SdsSecretConfig::getName)
          .toList();
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("unreadable DownstreamTlsContext in a listener", e);
    }
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
