package io.signalbox.config;

import io.signalbox.model.AuthRequirement;
import io.signalbox.model.RateLimit;
import io.signalbox.model.RouteSpec;
import java.util.Objects;
import java.util.Optional;

/**
 * Policies for routes whose registration set none.
 *
 * @param auth JWT requirement for every route without its own (and not marked public)
 * @param rateLimit limit for every route without its own
 * @param rateLimitFailureMode what a global limit does when the rate-limit service cannot be asked,
 *     unless the route chose
 */
public record PolicyDefaults(
    Optional<AuthRequirement> auth,
    Optional<RateLimit> rateLimit,
    RateLimit.FailureMode rateLimitFailureMode) {

  /**
   * No default auth or limit; global limits fail open, so an outage of the rate-limit service is
   * not an outage.
   */
  public static final PolicyDefaults NONE =
      new PolicyDefaults(Optional.empty(), Optional.empty(), RateLimit.FailureMode.ALLOW);

  /**
   * The JWT requirement in force for a route: its registration's, else the default; none for a
   * public route.
   */
  public Optional<AuthRequirement> authFor(RouteSpec route) {
    return route.publicRoute() ? Optional.empty() : route.auth().or(this::auth);
  }

  /** The limit in force for a route: its registration's, else the default. */
  public Optional<RateLimit> rateLimitFor(RouteSpec route) {
    return route.rateLimit().or(this::rateLimit);
  }

  /**
   * What a global limit does when the rate-limit service cannot be asked: its own choice, else the
   * default.
   */
  public RateLimit.FailureMode failureModeOf(RateLimit limit) {
    return limit.failureMode().orElse(rateLimitFailureMode);
  }

  public PolicyDefaults {
    auth = auth == null ? Optional.empty() : auth;
    rateLimit = rateLimit == null ? Optional.empty() : rateLimit;
    Objects.requireNonNull(rateLimitFailureMode, "rateLimitFailureMode");
  }
}
