package io.signalbox.config;

import static org.assertj.core.api.Assertions.assertThat;

import io.signalbox.model.AuthRequirement;
import io.signalbox.model.PathMatch;
import io.signalbox.model.RateLimit;
import io.signalbox.model.RouteSpec;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** Which policy is in force for a route: the translator and the admin API both ask these. */
class PolicyDefaultsTest {

  private final PolicyDefaults defaults =
      new PolicyDefaults(
          Optional.of(AuthRequirement.of("corp")),
          Optional.of(RateLimit.local(100, RateLimit.Unit.SECOND)),
          RateLimit.FailureMode.DENY);

  private static RouteSpec.Builder route() {
    return RouteSpec.builder(PathMatch.prefix("/orders"));
  }

  @Test
  void aRouteWithoutPoliciesGetsTheDefaults() {
    RouteSpec spec = route().build();

    assertThat(defaults.authFor(spec)).hasValue(AuthRequirement.of("corp"));
    assertThat(defaults.rateLimitFor(spec)).hasValue(RateLimit.local(100, RateLimit.Unit.SECOND));
  }

  @Test
  void aRoutesOwnPoliciesWin() {
    RouteSpec spec =
        route()
            .auth(AuthRequirement.of("partner"))
            .rateLimit(RateLimit.global(5, RateLimit.Unit.MINUTE))
            .build();

    assertThat(defaults.authFor(spec)).hasValue(AuthRequirement.of("partner"));
    assertThat(defaults.rateLimitFor(spec)).hasValue(RateLimit.global(5, RateLimit.Unit.MINUTE));
  }

  @Test
  void aPublicRouteGetsNoDefaultAuthButTheDefaultLimit() {
    RouteSpec spec = route().publicRoute(true).build();

    assertThat(defaults.authFor(spec)).isEmpty();
    assertThat(defaults.rateLimitFor(spec)).isPresent();
  }

  @Test
  void aGlobalLimitFailsAsItChoseElseAsTheDefaultSays() {
    RateLimit chose =
        RateLimit.global(5, RateLimit.Unit.MINUTE).withFailureMode(RateLimit.FailureMode.ALLOW);

    assertThat(defaults.failureModeOf(chose)).isEqualTo(RateLimit.FailureMode.ALLOW);
    assertThat(defaults.failureModeOf(RateLimit.global(5, RateLimit.Unit.MINUTE)))
        .isEqualTo(RateLimit.FailureMode.DENY);
  }
}
