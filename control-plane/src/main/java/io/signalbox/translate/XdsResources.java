package io.signalbox.translate;

import com.google.protobuf.Message;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.function.Function;

/**
 * Everything a fleet is sent, each list sorted by resource name.
 *
 * @param localZoneClusters the clusters whose endpoints an Envoy that declares a zone is sent with
 *     its own zone first ({@link LocalZonePreference}); the lists are what an Envoy without a zone
 *     is sent
 */
public record XdsResources(
    List<Listener> listeners,
    List<RouteConfiguration> routes,
    List<Cluster> clusters,
    List<ClusterLoadAssignment> endpoints,
    List<Secret> secrets,
    Set<String> localZoneClusters) {

  public static final XdsResources EMPTY =
      new XdsResources(List.of(), List.of(), List.of(), List.of(), List.of());

  public XdsResources {
    listeners = sorted(listeners, Listener::getName);
    routes = sorted(routes, RouteConfiguration::getName);
    clusters = sorted(clusters, Cluster::getName);
    endpoints = sorted(endpoints, ClusterLoadAssignment::getClusterName);
    secrets = sorted(secrets, Secret::getName);
    localZoneClusters = Set.copyOf(localZoneClusters);
  }

  /** Resources of which no cluster prefers the local zone. */
  public XdsResources(
      List<Listener> listeners,
      List<RouteConfiguration> routes,
      List<Cluster> clusters,
      List<ClusterLoadAssignment> endpoints,
      List<Secret> secrets) {
    this(listeners, routes, clusters, endpoints, secrets, Set.of());
  }

  /** These resources with other endpoints. */
  public XdsResources withEndpoints(List<ClusterLoadAssignment> newEndpoints) {
    return new XdsResources(listeners, routes, clusters, newEndpoints, secrets, localZoneClusters);
  }

  private static <T extends Message> List<T> sorted(List<T> resources, Function<T, String> name) {
    // Translation hands most lists over sorted already (services come in name order).
    for (int i = 1; i < resources.size(); i++) {
      if (name.apply(resources.get(i - 1)).compareTo(name.apply(resources.get(i))) > 0) {
        return resources.stream().sorted(Comparator.comparing(name)).toList();
      }
    }
    return List.copyOf(resources);
  }
}
