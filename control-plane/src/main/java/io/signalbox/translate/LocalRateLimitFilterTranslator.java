package io.signalbox.translate;

import com.google.protobuf.Any;
import com.google.protobuf.BoolValue;
import com.google.protobuf.UInt32Value;
import io.envoyproxy.envoy.config.core.v3.RuntimeFractionalPercent;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.extensions.common.ratelimit.v3.LocalRateLimitDescriptor;
import io.envoyproxy.envoy.extensions.common.ratelimit.v3.RateLimitDescriptor;
import io.envoyproxy.envoy.extensions.common.ratelimit.v3.XRateLimitHeadersRFCVersion;
import io.envoyproxy.envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.type.v3.FractionalPercent;
import io.envoyproxy.envoy.type.v3.HttpStatus;
import io.envoyproxy.envoy.type.v3.StatusCode;
import io.envoyproxy.envoy.type.v3.TokenBucket;
import io.signalbox.config.GatewaySettings;
import io.signalbox.model.RateLimit;
import java.util.List;
import java.util.Optional;

/**
 * Rate limits each Envoy enforces alone (envoy.filters.http.local_ratelimit), configured per route.
 *
 * <p>The filter is always in the chain with no bucket of its own, so a route without a limit is
 * unlimited. A route's limit is a token bucket of {@code requests} tokens refilled by {@code
 * requests} per unit (Envoy refills it gradually, so after a burst the next request passes after
 * {@code unit / requests}). A limit per client IP or per header value is a wildcard descriptor:
 * Envoy keeps one bucket per value it sees, up to {@link #MAX_TRACKED_VALUES} per route (least
 * recently used values beyond that lose their bucket); requests without the header share the
 * route's bucket.
 */
final class LocalRateLimitFilterTranslator implements HttpFilterTranslator {

  /** Envoy's default is 20 values per route, far too few for per-client limits at an edge. */
  static final int MAX_TRACKED_VALUES = 10_000;

  private static final RuntimeFractionalPercent ALL_REQUESTS =
      RuntimeFractionalPercent.newBuilder()
          .setDefaultValue(
              FractionalPercent.newBuilder()
                  .setNumerator(100)
                  .setDenominator(FractionalPercent.DenominatorType.HUNDRED))
          .build();

  @Override
  public List<HttpFilter> httpFilters(GatewaySettings settings) {
    return List.of(
        HttpFilter.newBuilder()
            .setName(XdsNames.LOCAL_RATE_LIMIT_FILTER)
            .setTypedConfig(
                Any.pack(
                    LocalRateLimit.newBuilder()
                        .setStatPrefix(XdsNames.LOCAL_RATE_LIMIT_STAT_PREFIX)
                        .build()))
            .build());
  }

  @Override
  public void patchRoute(PolicyRoute route, Route.Builder envoyRoute, GatewaySettings settings) {
    route
        .rateLimit()
        .filter(limit -> limit.scope() == RateLimit.Scope.LOCAL)
        .ifPresent(
            limit ->
                envoyRoute.putTypedPerFilterConfig(
                    XdsNames.LOCAL_RATE_LIMIT_FILTER, Any.pack(routeLimit(limit))));
  }

  private static LocalRateLimit routeLimit(RateLimit limit) {
    LocalRateLimit.Builder config =
        LocalRateLimit.newBuilder()
            .setStatPrefix(XdsNames.LOCAL_RATE_LIMIT_STAT_PREFIX)
            .setStatus(HttpStatus.newBuilder().setCode(StatusCode.TooManyRequests))
            .setTokenBucket(tokenBucket(limit))
            .setFilterEnabled(ALL_REQUESTS)
            .setFilterEnforced(ALL_REQUESTS)
            .setEnableXRatelimitHeaders(XRateLimitHeadersRFCVersion.DRAFT_VERSION_03);
    Optional<RateLimitPartition> partition = RateLimitPartition.of(limit, false);
    if (partition.isPresent()) {
      config
          .addRateLimits(
              io.envoyproxy.envoy.config.route.v3.RateLimit.newBuilder()
                  .addActions(partition.get().action()))
          // An entry without a value is a wildcard: one bucket per value seen.
          .addDescriptors(
              LocalRateLimitDescriptor.newBuilder()
                  .addEntries(
                      RateLimitDescriptor.Entry.newBuilder()
                          .setKey(partition.get().descriptorKey()))
                  .setTokenBucket(tokenBucket(limit)))
          .setMaxDynamicDescriptors(UInt32Value.of(MAX_TRACKED_VALUES))
          // The route's bucket is only for requests that match no descriptor (no such header), not
          // for all.
          .setAlwaysConsumeDefaultTokenBucket(BoolValue.of(false));
    }
    return config.build();
  }

  private static TokenBucket tokenBucket(RateLimit limit) {
    return TokenBucket.newBuilder()
        .setMaxTokens(limit.requests())
        .setTokensPerFill(UInt32Value.of(limit.requests()))
        .setFillInterval(EnvoyProtos.duration(limit.unit().length()))
        .build();
  }
}
