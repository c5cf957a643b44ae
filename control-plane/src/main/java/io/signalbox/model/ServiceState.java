package io.signalbox.model;

import java.util.Collections;
import java.util.List;
import java.util.Objects;
import java.util.SortedSet;
import java.util.TreeSet;

/**
 * A service as the gateway should serve it.
 *
 * @param routes the routes of the most recent registration among the live instances
 * @param instances live instances, sorted by id
 * @param protocol how Envoy talks to the instances, as the most recent registration says
 * @param traffic load balancing, circuit breakers and outlier detection, as it says too
 * @param notServing ids of the instances that reported themselves NOT_SERVING: still registered,
 *     sent to Envoy as unhealthy
 * @param mesh who may call the service through its sidecars, and whom they call, as the most recent
 *     registration says
 */
public record ServiceState(
    String name,
    List<RouteSpec> routes,
    List<Instance> instances,
    UpstreamProtocol protocol,
    TrafficPolicy traffic,
    SortedSet<String> notServing,
    MeshPolicy mesh) {

  public ServiceState {
    Objects.requireNonNull(name, "name");
    routes = List.copyOf(routes);
    instances = List.copyOf(instances);
    protocol = protocol == null ? UpstreamProtocol.HTTP1 : protocol;
    traffic = traffic == null ? TrafficPolicy.DEFAULT : traffic;
    notServing =
        notServing == null || notServing.isEmpty()
            ? Collections.emptySortedSet()
            : Collections.unmodifiableSortedSet(new TreeSet<>(notServing));
    mesh = mesh == null ? MeshPolicy.OPEN : mesh;
  }

  /** A service any workload of the mesh may call, whose sidecars may call every service. */
  public ServiceState(
      String name,
      List<RouteSpec> routes,
      List<Instance> instances,
      UpstreamProtocol protocol,
      TrafficPolicy traffic,
      SortedSet<String> notServing) {
    this(name, routes, instances, protocol, traffic, notServing, MeshPolicy.OPEN);
  }

  /** A service whose instances all serve. */
  public ServiceState(
      String name,
      List<RouteSpec> routes,
      List<Instance> instances,
      UpstreamProtocol protocol,
      TrafficPolicy traffic) {
    this(name, routes, instances, protocol, traffic, Collections.emptySortedSet());
  }

  /** Whether the instance reported itself NOT_SERVING. */
  public boolean serving(String instanceId) {
    return !notServing.contains(instanceId);
  }

  /** A service with the default traffic policy. */
  public ServiceState(
      String name, List<RouteSpec> routes, List<Instance> instances, UpstreamProtocol protocol) {
    this(name, routes, instances, protocol, TrafficPolicy.DEFAULT);
  }

  /** An HTTP/1.1 service. */
  public ServiceState(String name, List<RouteSpec> routes, List<Instance> instances) {
    this(name, routes, instances, UpstreamProtocol.HTTP1, TrafficPolicy.DEFAULT);
  }
}
