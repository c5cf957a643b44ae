package io.signalbox.translate;

import com.google.protobuf.Message;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import java.util.AbstractList;
import java.util.Comparator;
import java.util.List;
import java.util.RandomAccess;
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

  /**
   * Resources whose clusters and endpoints the caller made in name order, so they are not walked
   * again (at 10,000 services that walk was half the translation of a change): the gateway
   * translator's, whose services come in name order and whose cluster names are a prefix and the
   * service's name. Checked with assertions on, as in tests.
   */
  static XdsResources inNameOrder(
      List<Listener> listeners,
      List<RouteConfiguration> routes,
      List<Cluster> clusters,
      List<ClusterLoadAssignment> endpoints,
      List<Secret> secrets,
      Set<String> localZoneClusters) {
    return new XdsResources(
        listeners,
        routes,
        nameOrdered(clusters, Cluster::getName),
        nameOrdered(endpoints, ClusterLoadAssignment::getClusterName),
        secrets,
        localZoneClusters);
  }

  /**
   * {@code sorted}, which the caller made in name order, as a list these resources take without
   * walking it again (it is checked with assertions on, as in tests); a list made so before is
   * taken as it is, the same object.
   */
  static <T extends Message> List<T> nameOrdered(List<T> sorted, Function<T, String> name) {
    if (sorted instanceof NameOrdered<T>) {
      return sorted;
    }
    assert isSorted(sorted, name) : "out of name order";
    return new NameOrdered<>(List.copyOf(sorted));
  }

  /** A list {@link #inNameOrder} vouches for. */
  private static final class NameOrdered<T> extends AbstractList<T> implements RandomAccess {
    private final List<T> sorted;

    NameOrdered(List<T> sorted) {
      this.sorted = sorted;
    }

    @Override
    public T get(int index) {
      return sorted.get(index);
    }

    @Override
    public int size() {
      return sorted.size();
    }
  }

  private static <T extends Message> boolean isSorted(List<T> resources, Function<T, String> name) {
    for (int i = 1; i < resources.size(); i++) {
      if (name.apply(resources.get(i - 1)).compareTo(name.apply(resources.get(i))) > 0) {
        return false;
      }
    }
    return true;
  }

  private static <T extends Message> List<T> sorted(List<T> resources, Function<T, String> name) {
    if (resources instanceof NameOrdered<T>) {
      return resources;
    }
    // Translation hands most lists over sorted already (services come in name order).
    for (int i = 1; i < resources.size(); i++) {
      if (name.apply(resources.get(i - 1)).compareTo(name.apply(resources.get(i))) > 0) {
        return resources.stream().sorted(Comparator.comparing(name)).toList();
      }
    }
    return List.copyOf(resources);
  }
}
