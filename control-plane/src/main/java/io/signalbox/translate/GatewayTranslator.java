package io.signalbox.translate;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.signalbox.model.RegistryState;
import io.signalbox.model.ServiceState;
import java.util.List;

/**
 * The edge gateway's resources: one HTTP listener, its route configuration, and a cluster with endpoints per
 * service.
 *
 * <p>Every service's cluster and load assignment are present whenever any route can point at them (a snapshot
 * must be complete, and a route to a missing cluster would stall ADS), and the route configuration always exists
 * even with no routes, because the listener names it.
 */
public final class GatewayTranslator implements Translator {

  private final ListenerTranslator listeners;
  private final RouteTranslator routes;
  private final ClusterTranslator clusters;
  private final EndpointTranslator endpoints;

  public GatewayTranslator(GatewayConfig gateway) {
    this.listeners = new ListenerTranslator(gateway);
    this.routes = new RouteTranslator(gateway);
    this.clusters = new ClusterTranslator(gateway);
    this.endpoints = new EndpointTranslator();
  }

  @Override
  public XdsResources translate(RegistryState state) {
    List<ServiceState> services = List.copyOf(state.services().values());
    List<Cluster> serviceClusters = services.stream().map(clusters::cluster).toList();
    List<ClusterLoadAssignment> assignments = services.stream().map(endpoints::loadAssignment).toList();
    return new XdsResources(
        List.of(listeners.httpListener()),
        List.of(routes.routeConfiguration(state)),
        serviceClusters,
        assignments,
        List.of());
  }
}
