package io.signalbox.translate;

import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.signalbox.config.GatewaySettings;
import java.util.List;

/** Rate limits shared by the whole fleet (envoy.filters.http.ratelimit), decided by a rate-limit service. */
final class GlobalRateLimitFilterTranslator implements HttpFilterTranslator {

  @Override
  public List<HttpFilter> httpFilters(GatewaySettings settings) {
    return List.of();
  }

  @Override
  public void patchRoute(PolicyRoute route, Route.Builder envoyRoute, GatewaySettings settings) {
  }
}
