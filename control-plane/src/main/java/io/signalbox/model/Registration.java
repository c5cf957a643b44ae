package io.signalbox.model;

import java.util.List;
import java.util.Objects;

/** One validated {@code Register} call: an instance of a service and the routes the service wants. */
public record Registration(String service, Instance instance, List<RouteSpec> routes) {

  public Registration {
    Objects.requireNonNull(service, "service");
    Objects.requireNonNull(instance, "instance");
    routes = routes == null ? List.of() : List.copyOf(routes);
  }
}
