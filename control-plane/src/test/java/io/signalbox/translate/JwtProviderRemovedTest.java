package io.signalbox.translate;

import static org.assertj.core.api.Assertions.assertThat;

import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.signalbox.config.GatewaySettings;
import io.signalbox.config.TestJwtProviders;
import io.signalbox.model.AuthRequirement;
import io.signalbox.model.Instance;
import io.signalbox.model.PathMatch;
import io.signalbox.model.RegistryState;
import io.signalbox.model.RouteSpec;
import io.signalbox.model.ServiceState;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * A registration names a provider the operator later removed from the settings. Registrations are
 * validated against the settings of their time, so the golden cases (validated against the case's
 * settings) cannot build this state: it is built here directly.
 */
class JwtProviderRemovedTest {

  private final GatewaySettings settingsWithoutPartners =
      GatewaySettings.plaintext("0.0.0.0", 10000).toBuilder()
          .jwtProvider(TestJwtProviders.corp())
          .build();

  private final RegistryState state =
      new RegistryState(
          1,
          new TreeMap<>(
              Map.of(
                  "orders",
                  new ServiceState(
                      "orders",
                      List.of(
                          RouteSpec.builder(PathMatch.prefix("/orders"))
                              .auth(
                                  new AuthRequirement(
                                      "partners",
                                      List.of("orders:read"),
                                      List.of(),
                                      List.of(
                                          new AuthRequirement.ClaimToHeader("sub", "x-user-id"))))
                              // A policy after JWT authentication: it must not give the 503 route
                              // an (empty) route action.
                              .rateLimit(
                                  io.signalbox.model.RateLimit.global(
                                      10, io.signalbox.model.RateLimit.Unit.MINUTE))
                              .build(),
                          RouteSpec.builder(PathMatch.prefix("/catalog"))
                              .auth(AuthRequirement.of("corp"))
                              .build()),
                      List.of(Instance.of("orders-1", "10.0.0.7", 8080))))));

  private final XdsResources resources =
      new GatewayTranslator().translate(state, settingsWithoutPartners);

  @Test
  void aRouteWhoseProviderIsGoneFailsClosedWith503NamingTheProvider() {
    Route route = route("orders: prefix /orders");

    assertThat(route.hasRoute()).as("no longer forwards to the service").isFalse();
    assertThat(route.getDirectResponse().getStatus()).isEqualTo(503);
    assertThat(route.getDirectResponse().getBody().getInlineString()).contains("'partners'");
    assertThat(route.getTypedPerFilterConfigMap())
        .as("no requirement or policy naming the missing provider")
        .isEmpty();
    assertThat(route.getRequestHeadersToAddList()).isEmpty();
  }

  @Test
  void routesOfProvidersStillConfiguredAreUnaffected() {
    Route route = route("orders: prefix /catalog");

    assertThat(route.getRoute().getCluster()).isEqualTo(XdsNames.serviceCluster("orders"));
    assertThat(route.getTypedPerFilterConfigMap()).containsOnlyKeys(XdsNames.JWT_AUTHN_FILTER);
  }

  @Test
  void theListenerKnowsOnlyTheConfiguredProviders() throws Exception {
    HttpConnectionManager manager =
        resources
            .listeners()
            .get(0)
            .getFilterChains(0)
            .getFilters(0)
            .getTypedConfig()
            .unpack(HttpConnectionManager.class);
    HttpFilter jwt =
        manager.getHttpFiltersList().stream()
            .filter(filter -> filter.getName().equals(XdsNames.JWT_AUTHN_FILTER))
            .findFirst()
            .orElseThrow();

    assertThat(jwt.getTypedConfig().unpack(JwtAuthentication.class).getProvidersMap())
        .as("corp, and its twin that forwards the verified token for a policy handover")
        .containsOnlyKeys("corp", XdsNames.tokenForwardingJwtProvider("corp"));
  }

  private Route route(String name) {
    RouteConfiguration routes =
        resources.routes().stream()
            .filter(config -> config.getName().equals(XdsNames.GATEWAY_ROUTES))
            .findFirst()
            .orElseThrow();
    return routes.getVirtualHosts(0).getRoutesList().stream()
        .filter(route -> route.getName().equals(name))
        .findFirst()
        .orElseThrow();
  }
}
