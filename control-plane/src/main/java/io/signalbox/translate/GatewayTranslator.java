package io.signalbox.translate;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.signalbox.config.GatewaySettings;
import io.signalbox.model.RegistryState;
import io.signalbox.model.ServiceState;
import java.util.ArrayList;
import java.util.List;

/**
 * The edge gateway's resources: the listeners of the settings, their route configurations, a
 * cluster with endpoints per service, the clusters the policy filters need, and the TLS
 * certificates as secrets.
 *
 * <p>Every service's cluster and load assignment are present whenever any route can point at them
 * (a snapshot must be complete, and a route to a missing cluster would stall ADS), and the route
 * configuration always exists even with no routes, because the listeners name it.
 */
public final class GatewayTranslator implements Translator {

  /**
   * In HTTP filter chain order: authenticate, then authorize, then count (only requests that may
   * pass).
   */
  private final List<HttpFilterTranslator> filters =
      List.of(
          new JwtAuthnFilterTranslator(),
          new ClaimAuthorizationFilterTranslator(),
          new LocalRateLimitFilterTranslator(),
          new GlobalRateLimitFilterTranslator());

  private final ListenerTranslator listeners = new ListenerTranslator(filters);
  private final RouteTranslator routes = new RouteTranslator(filters);
  private final ClusterTranslator clusters = new ClusterTranslator();
  private final EndpointTranslator endpoints = new EndpointTranslator();
  private final SecretTranslator secrets = new SecretTranslator();

  @Override
  public XdsResources translate(RegistryState state, GatewaySettings settings) {
    List<ServiceState> services = List.copyOf(state.services().values());
    List<Cluster> allClusters = new ArrayList<>();
    services.forEach(service -> allClusters.add(clusters.cluster(service, settings)));
    filters.forEach(filter -> allClusters.addAll(filter.clusters(settings)));
    List<ClusterLoadAssignment> assignments =
        services.stream().map(endpoints::loadAssignment).toList();
    return new XdsResources(
        listeners.listeners(settings),
        routes.routeConfigurations(state, settings),
        allClusters,
        assignments,
        secrets.secrets(settings));
  }
}
