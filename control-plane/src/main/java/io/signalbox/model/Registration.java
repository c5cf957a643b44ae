package io.signalbox.model;

import java.util.List;
import java.util.Objects;

/**
 * One validated {@code Register} call: an instance of a service and the routes the service wants.
 *
 * @param registrant the identity that registered it, which owns its lease (only it may renew, deregister or
 *     register the instance again); empty when it was registered without TLS (nobody in particular)
 */
public record Registration(String service, Instance instance, List<RouteSpec> routes, String registrant) {

  public Registration {
    Objects.requireNonNull(service, "service");
    Objects.requireNonNull(instance, "instance");
    routes = routes == null ? List.of() : List.copyOf(routes);
    Objects.requireNonNull(registrant, "registrant");
  }

  /** A registration by nobody in particular (made without TLS). */
  public Registration(String service, Instance instance, List<RouteSpec> routes) {
    this(service, instance, routes, "");
  }

  public Registration withRegistrant(String identity) {
    return new Registration(service, instance, routes, identity);
  }
}
