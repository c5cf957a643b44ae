package io.signalbox.config;

import io.signalbox.model.AuthRequirement;
import io.signalbox.model.RateLimit;
import java.util.Objects;
import java.util.Optional;

/**
 * Policies for routes whose registration set none.
 *
 * @param auth JWT requirement for every route without its own (and not marked public)
 * @param rateLimit limit for every route without its own
 * @param rateLimitFailureMode what a global limit does when the rate-limit service cannot be asked, unless the
 *     route chose
 */
public record PolicyDefaults(Optional<AuthRequirement> auth, Optional<RateLimit> rateLimit,
                             RateLimit.FailureMode rateLimitFailureMode) {

  /** No default auth or limit; global limits fail open, so an outage of the rate-limit service is not an outage. */
  public static final PolicyDefaults NONE =
      new PolicyDefaults(Optional.empty(), Optional.empty(), RateLimit.FailureMode.ALLOW);

  public PolicyDefaults {
    auth = auth == null ? Optional.empty() : auth;
    rateLimit = rateLimit == null ? Optional.empty() : rateLimit;
    Objects.requireNonNull(rateLimitFailureMode, "rateLimitFailureMode");
  }
}
