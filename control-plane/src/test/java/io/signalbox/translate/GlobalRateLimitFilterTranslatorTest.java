package io.signalbox.translate;

import static org.assertj.core.api.Assertions.assertThat;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.route.v3.RateLimit.Action;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.extensions.filters.http.ratelimit.v3.RateLimit;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.signalbox.config.GatewaySettings;
import io.signalbox.config.PolicyDefaults;
import io.signalbox.config.RateLimitServiceSpec;
import io.signalbox.model.PathMatch;
import io.signalbox.model.RouteSpec;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class GlobalRateLimitFilterTranslatorTest {

  private final GlobalRateLimitFilterTranslator translator = new GlobalRateLimitFilterTranslator();

  @Test
  void theChainHasAFailOpenAndAFailClosedFilterOnTheirOwnStagesWhateverIsRegistered()
      throws Exception {
    List<HttpFilter> filters = translator.httpFilters(GatewaySettings.DEFAULT);

    assertThat(filters)
        .extracting(HttpFilter::getName)
        .containsExactly(XdsNames.RATE_LIMIT_FILTER, XdsNames.RATE_LIMIT_FAIL_CLOSED_FILTER);
    RateLimit failOpen = filters.get(0).getTypedConfig().unpack(RateLimit.class);
    RateLimit failClosed = filters.get(1).getTypedConfig().unpack(RateLimit.class);
    assertThat(failOpen.getFailureModeDeny()).isFalse();
    assertThat(failOpen.getStage()).isEqualTo(XdsNames.RATE_LIMIT_FAIL_OPEN_STAGE);
    assertThat(failClosed.getFailureModeDeny()).isTrue();
    assertThat(failClosed.getStage()).isEqualTo(XdsNames.RATE_LIMIT_FAIL_CLOSED_STAGE);
    assertThat(failOpen.getRateLimitService().getGrpcService().getEnvoyGrpc().getClusterName())
        .as("the built-in service, through the bootstrap's cluster")
        .isEqualTo(XdsNames.CONTROL_PLANE_CLUSTER);
    assertThat(translator.clusters(GatewaySettings.DEFAULT)).isEmpty();
  }

  @Test
  void aRouteDescriptorGoesToTheStageOfItsFailureModeElseTheSettingsDefault() {
    GatewaySettings denyByDefault =
        GatewaySettings.DEFAULT.toBuilder()
            .defaults(
                new PolicyDefaults(
                    Optional.empty(),
                    Optional.empty(),
                    io.signalbox.model.RateLimit.FailureMode.DENY))
            .build();
    io.signalbox.model.RateLimit limit =
        io.signalbox.model.RateLimit.global(10, io.signalbox.model.RateLimit.Unit.MINUTE);

    assertThat(stageOf(limit, denyByDefault)).isEqualTo(XdsNames.RATE_LIMIT_FAIL_CLOSED_STAGE);
    assertThat(stageOf(limit, GatewaySettings.DEFAULT))
        .isEqualTo(XdsNames.RATE_LIMIT_FAIL_OPEN_STAGE);
    assertThat(
            stageOf(
                limit.withFailureMode(io.signalbox.model.RateLimit.FailureMode.ALLOW),
                denyByDefault))
        .isEqualTo(XdsNames.RATE_LIMIT_FAIL_OPEN_STAGE);
  }

  @Test
  void theDescriptorNamesTheRouteAndCarriesTheLimitThenTheCountedValue() {
    io.signalbox.model.RateLimit limit =
        io.signalbox.model.RateLimit.global(5, io.signalbox.model.RateLimit.Unit.HOUR)
            .withPerHeader("x-tenant");
    PolicyRoute route = route(limit, GatewaySettings.DEFAULT);

    List<Action> actions =
        patched(route, GatewaySettings.DEFAULT).getRateLimits(0).getActionsList();

    assertThat(actions.get(0).getGenericKey().getDescriptorKey())
        .isEqualTo(XdsNames.RATE_LIMIT_ROUTE_KEY);
    assertThat(actions.get(0).getGenericKey().getDescriptorValue()).isEqualTo(route.name());
    assertThat(actions.get(1).getGenericKey().getDescriptorValue()).isEqualTo("5/HOUR");
    assertThat(actions.get(2).getRequestHeaders().getHeaderName()).isEqualTo("x-tenant");
    assertThat(actions.get(2).getRequestHeaders().getSkipIfAbsent()).isTrue();
  }

  @Test
  void localAndAbsentLimitsAddNothing() {
    PolicyRoute local =
        route(
            io.signalbox.model.RateLimit.local(5, io.signalbox.model.RateLimit.Unit.SECOND),
            GatewaySettings.DEFAULT);
    PolicyRoute none =
        PolicyRoute.resolve(
            "orders",
            RouteSpec.builder(PathMatch.prefix("/orders")).build(),
            GatewaySettings.DEFAULT,
            List.of());

    assertThat(patched(local, GatewaySettings.DEFAULT).getRateLimitsList()).isEmpty();
    assertThat(patched(none, GatewaySettings.DEFAULT).getRateLimitsList()).isEmpty();
  }

  @Test
  void anExternalServiceAtAnIpAddressGetsAStaticHttp2Cluster() throws Exception {
    GatewaySettings external =
        GatewaySettings.DEFAULT.toBuilder()
            .rateLimitService(
                new RateLimitServiceSpec(
                    Optional.of(new RateLimitServiceSpec.HostAndPort("10.1.2.3", 8081)),
                    Duration.ofMillis(30)))
            .build();

    List<Cluster> clusters = translator.clusters(external);

    assertThat(clusters)
        .singleElement()
        .satisfies(
            cluster -> {
              assertThat(cluster.getName()).isEqualTo(XdsNames.rateLimitCluster());
              assertThat(cluster.getType()).isEqualTo(Cluster.DiscoveryType.STATIC);
              assertThat(cluster.getTypedExtensionProtocolOptionsMap())
                  .containsKey(XdsNames.HTTP_PROTOCOL_OPTIONS);
            });
    RateLimit filter =
        translator.httpFilters(external).get(0).getTypedConfig().unpack(RateLimit.class);
    assertThat(filter.getRateLimitService().getGrpcService().getEnvoyGrpc().getClusterName())
        .isEqualTo(XdsNames.rateLimitCluster());
    assertThat(filter.getTimeout().getNanos()).isEqualTo(30_000_000);
  }

  private int stageOf(io.signalbox.model.RateLimit limit, GatewaySettings settings) {
    return patched(route(limit, settings), settings).getRateLimits(0).getStage().getValue();
  }

  private RouteAction patched(PolicyRoute route, GatewaySettings settings) {
    Route.Builder envoyRoute =
        Route.newBuilder().setRoute(RouteAction.newBuilder().setCluster("svc-orders"));
    translator.patchRoute(route, envoyRoute, settings);
    return envoyRoute.getRoute();
  }

  private static PolicyRoute route(io.signalbox.model.RateLimit limit, GatewaySettings settings) {
    return PolicyRoute.resolve(
        "orders",
        RouteSpec.builder(PathMatch.prefix("/orders")).rateLimit(limit).build(),
        settings,
        List.of());
  }
}
