package io.signalbox.model;

import java.util.List;
import java.util.Objects;

/**
 * A service as the gateway should serve it.
 *
 * @param routes the routes of the most recent registration among the live instances
 * @param instances live instances, sorted by id
 */
public record ServiceState(String name, List<RouteSpec> routes, List<Instance> instances) {

  public ServiceState {
    Objects.requireNonNull(name, "name");
    routes = List.copyOf(routes);
    instances = List.copyOf(instances);
  }
}
