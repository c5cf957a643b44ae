package io.signalbox.model;

import java.util.List;
import java.util.Objects;

/**
 * A service as the gateway should serve it.
 *
 * @param routes the routes of the most recent registration among the live instances
 * @param instances live instances, sorted by id
 * @param protocol how Envoy talks to the instances, as the most recent registration says
 * @param traffic load balancing, circuit breakers and outlier detection, as it says too
 */
public record ServiceState(
    String name,
    List<RouteSpec> routes,
    List<Instance> instances,
    UpstreamProtocol protocol,
    TrafficPolicy traffic) {

  public ServiceState {
    Objects.requireNonNull(name, "name");
    routes = List.copyOf(routes);
    instances = List.copyOf(instances);
    protocol = protocol == null ? UpstreamProtocol.HTTP1 : protocol;
    traffic = traffic == null ? TrafficPolicy.DEFAULT : traffic;
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
