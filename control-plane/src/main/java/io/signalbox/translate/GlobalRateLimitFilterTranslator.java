package io.signalbox.translate;

import com.google.protobuf.Any;
import com.google.protobuf.UInt32Value;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.ApiVersion;
import io.envoyproxy.envoy.config.core.v3.GrpcService;
import io.envoyproxy.envoy.config.ratelimit.v3.RateLimitServiceConfig;
import io.envoyproxy.envoy.config.route.v3.RateLimit.Action;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.extensions.filters.http.ratelimit.v3.RateLimit.XRateLimitHeadersRFCVersion;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.signalbox.config.GatewaySettings;
import io.signalbox.config.RateLimitServiceSpec;
import io.signalbox.model.RateLimit;
import io.signalbox.ratelimit.DescriptorLimit;
import java.util.List;

/**
 * Rate limits shared by the whole fleet (envoy.filters.http.ratelimit), decided by a rate-limit
 * service: Signalbox's own (reached through the bootstrap's control-plane cluster), or an external
 * one from the settings.
 *
 * <p>Envoy chooses fail-open or fail-closed per filter, not per route, so the chain has two
 * rate-limit filters on different stages, and a route's descriptor goes to the stage of its failure
 * mode. A route's descriptor names the route and carries the limit itself (see {@link
 * DescriptorLimit}), then the client address or header value when the limit counts per value: the
 * service needs no configuration and can never disagree with the route. Requests without the header
 * share one count. When the service cannot answer in time, a fail-closed route answers 500 (Envoy's
 * status_on_error default).
 */
final class GlobalRateLimitFilterTranslator implements HttpFilterTranslator {

  @Override
  public List<HttpFilter> httpFilters(GatewaySettings settings) {
    return List.of(
        filter(
            XdsNames.RATE_LIMIT_FILTER,
            XdsNames.RATE_LIMIT_FAIL_OPEN_STAGE,
            XdsNames.RATE_LIMIT_FAIL_OPEN_STAT_PREFIX,
            false,
            settings),
        filter(
            XdsNames.RATE_LIMIT_FAIL_CLOSED_FILTER,
            XdsNames.RATE_LIMIT_FAIL_CLOSED_STAGE,
            XdsNames.RATE_LIMIT_FAIL_CLOSED_STAT_PREFIX,
            true,
            settings));
  }

  @Override
  public void patchRoute(PolicyRoute route, Route.Builder envoyRoute, GatewaySettings settings) {
    route
        .rateLimit()
        .filter(limit -> limit.scope() == RateLimit.Scope.GLOBAL)
        .ifPresent(
            limit ->
                envoyRoute.getRouteBuilder().addRateLimits(routeLimit(route, limit, settings)));
  }

  @Override
  public List<Cluster> clusters(GatewaySettings settings) {
    return settings
        .rateLimitService()
        .address()
        .map(address -> List.of(externalServiceCluster(address, settings)))
        .orElse(List.of());
  }

  private static io.envoyproxy.envoy.config.route.v3.RateLimit routeLimit(
      PolicyRoute route, RateLimit limit, GatewaySettings settings) {
    RateLimit.FailureMode failureMode = settings.defaults().failureModeOf(limit);
    var descriptor =
        io.envoyproxy.envoy.config.route.v3.RateLimit.newBuilder()
            .setStage(
                UInt32Value.of(
                    failureMode == RateLimit.FailureMode.ALLOW
                        ? XdsNames.RATE_LIMIT_FAIL_OPEN_STAGE
                        : XdsNames.RATE_LIMIT_FAIL_CLOSED_STAGE))
            .addActions(genericKey(XdsNames.RATE_LIMIT_ROUTE_KEY, route.name()))
            .addActions(
                genericKey(XdsNames.RATE_LIMIT_LIMIT_KEY, DescriptorLimit.of(limit).encode()));
    RateLimitPartition.of(limit, true)
        .ifPresent(partition -> descriptor.addActions(partition.action()));
    return descriptor.build();
  }

  private static Action genericKey(String key, String value) {
    return Action.newBuilder()
        .setGenericKey(
            Action.GenericKey.newBuilder().setDescriptorKey(key).setDescriptorValue(value))
        .build();
  }

  private static HttpFilter filter(
      String name, int stage, String statPrefix, boolean failClosed, GatewaySettings settings) {
    RateLimitServiceSpec service = settings.rateLimitService();
    String cluster =
        service.address().isPresent()
            ? XdsNames.rateLimitCluster()
            : XdsNames.CONTROL_PLANE_CLUSTER;
    var config =
        io.envoyproxy.envoy.extensions.filters.http.ratelimit.v3.RateLimit.newBuilder()
            .setDomain(XdsNames.RATE_LIMIT_DOMAIN)
            .setStage(stage)
            .setStatPrefix(statPrefix)
            .setTimeout(EnvoyProtos.duration(service.timeout()))
            .setFailureModeDeny(failClosed)
            .setRateLimitService(
                RateLimitServiceConfig.newBuilder()
                    .setGrpcService(
                        GrpcService.newBuilder()
                            .setEnvoyGrpc(
                                GrpcService.EnvoyGrpc.newBuilder().setClusterName(cluster)))
                    .setTransportApiVersion(ApiVersion.V3))
            .setEnableXRatelimitHeaders(XRateLimitHeadersRFCVersion.DRAFT_VERSION_03)
            .build();
    return HttpFilter.newBuilder().setName(name).setTypedConfig(Any.pack(config)).build();
  }

  /**
   * An HTTP/2 cluster (the service speaks gRPC) to the external service; DNS only when it is not an
   * IP literal.
   */
  private static Cluster externalServiceCluster(
      RateLimitServiceSpec.HostAndPort address, GatewaySettings settings) {
    return UpstreamProtocolOptions.http2(
            EnvoyProtos.singleEndpointCluster(
                XdsNames.rateLimitCluster(),
                address.host(),
                address.port(),
                settings.limits().upstreamConnectTimeout()))
        .build();
  }
}
