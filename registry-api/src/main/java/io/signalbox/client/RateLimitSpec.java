package io.signalbox.client;

import io.signalbox.registry.v1.RateLimitPolicy;
import java.util.Objects;
import java.util.function.UnaryOperator;
import org.jspecify.annotations.Nullable;

/**
 * A request rate limit, immutable like {@link RouteSpec}: {@code
 * RateLimitSpec.perMinute(10).global().perClientIp()}. Over the limit the gateway answers 429.
 */
public final class RateLimitSpec {

  private final RateLimitPolicy policy;

  private RateLimitSpec(RateLimitPolicy policy) {
    this.policy = policy;
  }

  /** At most {@code requests} (1 or more) requests per second. */
  public static RateLimitSpec perSecond(int requests) {
    return of(requests, RateLimitPolicy.Unit.SECOND);
  }

  /** At most {@code requests} (1 or more) requests per minute. */
  public static RateLimitSpec perMinute(int requests) {
    return of(requests, RateLimitPolicy.Unit.MINUTE);
  }

  /** At most {@code requests} (1 or more) requests per hour. */
  public static RateLimitSpec perHour(int requests) {
    return of(requests, RateLimitPolicy.Unit.HOUR);
  }

  private static RateLimitSpec of(int requests, RateLimitPolicy.Unit unit) {
    if (requests < 1) {
      throw new IllegalArgumentException("requests must be at least 1: " + requests);
    }
    return new RateLimitSpec(
        RateLimitPolicy.newBuilder().setRequests(requests).setUnit(unit).build());
  }

  /** The limit holds across all Envoys together (the default is per Envoy). */
  public RateLimitSpec global() {
    return with(b -> b.setScope(RateLimitPolicy.Scope.GLOBAL));
  }

  /** Counted separately for each client IP address. */
  public RateLimitSpec perClientIp() {
    return with(b -> b.setPerClientIp(true).clearPerHeader());
  }

  /** Counted separately for each value of a request header, e.g. an API key. */
  public RateLimitSpec perHeader(String header) {
    Objects.requireNonNull(header, "header");
    return with(b -> b.setPerHeader(header).setPerClientIp(false));
  }

  /** A global limit refuses requests while the rate-limit service cannot be asked. */
  public RateLimitSpec failClosed() {
    return with(b -> b.setFailureMode(RateLimitPolicy.FailureMode.DENY));
  }

  /** A global limit lets requests pass while the rate-limit service cannot be asked. */
  public RateLimitSpec failOpen() {
    return with(b -> b.setFailureMode(RateLimitPolicy.FailureMode.ALLOW));
  }

  /** The wire form, as sent in a {@code RegisterRequest} or a {@code Route}. */
  public RateLimitPolicy toProto() {
    return policy;
  }

  private RateLimitSpec with(UnaryOperator<RateLimitPolicy.Builder> change) {
    return new RateLimitSpec(change.apply(policy.toBuilder()).build());
  }

  @Override
  public boolean equals(@Nullable Object o) {
    return o instanceof RateLimitSpec other && policy.equals(other.policy);
  }

  @Override
  public int hashCode() {
    return policy.hashCode();
  }

  @Override
  public String toString() {
    return "RateLimitSpec{" + policy.toString().replace('\n', ' ').trim() + "}";
  }
}
