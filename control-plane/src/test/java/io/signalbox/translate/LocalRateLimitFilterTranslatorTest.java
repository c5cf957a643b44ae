package io.signalbox.translate;

import static org.assertj.core.api.Assertions.assertThat;

import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit;
import io.signalbox.config.GatewaySettings;
import io.signalbox.model.PathMatch;
import io.signalbox.model.RateLimit;
import io.signalbox.model.RouteSpec;
import java.util.List;
import org.junit.jupiter.api.Test;

class LocalRateLimitFilterTranslatorTest {

  private final LocalRateLimitFilterTranslator translator = new LocalRateLimitFilterTranslator();

  @Test
  void theFilterHasNoBucketOfItsOwnSoRoutesWithoutALimitAreUnlimited() throws Exception {
    LocalRateLimit filter =
        translator
            .httpFilters(GatewaySettings.DEFAULT)
            .get(0)
            .getTypedConfig()
            .unpack(LocalRateLimit.class);

    assertThat(filter.hasTokenBucket()).isFalse();
    assertThat(
            patched(RouteSpec.builder(PathMatch.prefix("/orders")).build())
                .getTypedPerFilterConfigMap())
        .isEmpty();
  }

  @Test
  void aLocalLimitIsABucketOfRequestsRefilledEachUnitEnforcedOnEveryRequest() throws Exception {
    Route route =
        patched(
            RouteSpec.builder(PathMatch.prefix("/orders"))
                .rateLimit(RateLimit.local(3, RateLimit.Unit.MINUTE))
                .build());

    LocalRateLimit limit =
        route
            .getTypedPerFilterConfigOrThrow(XdsNames.LOCAL_RATE_LIMIT_FILTER)
            .unpack(LocalRateLimit.class);
    assertThat(limit.getTokenBucket().getMaxTokens()).isEqualTo(3);
    assertThat(limit.getTokenBucket().getTokensPerFill().getValue()).isEqualTo(3);
    assertThat(limit.getTokenBucket().getFillInterval().getSeconds()).isEqualTo(60);
    assertThat(limit.getFilterEnforced().getDefaultValue().getNumerator()).isEqualTo(100);
    assertThat(limit.getStatus().getCodeValue()).isEqualTo(429);
    assertThat(limit.getDescriptorsList()).isEmpty();
  }

  @Test
  void aPerClientLimitIsAWildcardDescriptorOnTheClientAddress() throws Exception {
    Route route =
        patched(
            RouteSpec.builder(PathMatch.prefix("/orders"))
                .rateLimit(RateLimit.local(3, RateLimit.Unit.SECOND).withPerClientIp())
                .build());

    LocalRateLimit limit =
        route
            .getTypedPerFilterConfigOrThrow(XdsNames.LOCAL_RATE_LIMIT_FILTER)
            .unpack(LocalRateLimit.class);
    assertThat(limit.getRateLimits(0).getActions(0).hasRemoteAddress()).isTrue();
    assertThat(limit.getDescriptors(0).getEntries(0).getKey())
        .isEqualTo(XdsNames.RATE_LIMIT_CLIENT_IP_KEY);
    assertThat(limit.getDescriptors(0).getEntries(0).getValue()).as("wildcard").isEmpty();
    assertThat(limit.getAlwaysConsumeDefaultTokenBucket().getValue()).isFalse();
    assertThat(limit.getMaxDynamicDescriptors().getValue())
        .isEqualTo(LocalRateLimitFilterTranslator.MAX_TRACKED_VALUES);
  }

  @Test
  void aGlobalLimitIsNotCountedLocally() {
    Route route =
        patched(
            RouteSpec.builder(PathMatch.prefix("/orders"))
                .rateLimit(RateLimit.global(3, RateLimit.Unit.SECOND))
                .build());

    assertThat(route.getTypedPerFilterConfigMap()).isEmpty();
  }

  private Route patched(RouteSpec spec) {
    Route.Builder route =
        Route.newBuilder().setRoute(RouteAction.newBuilder().setCluster("svc-orders"));
    translator.patchRoute(
        PolicyRoute.resolve("orders", spec, GatewaySettings.DEFAULT, List.of()),
        route,
        GatewaySettings.DEFAULT);
    return route.build();
  }
}
