package io.signalbox.registry;

import static io.signalbox.registry.Fields.abbreviate;
import static io.signalbox.registry.Fields.check;

import com.google.protobuf.util.Durations;
import io.signalbox.model.RetryPolicy;
import io.signalbox.registry.v1.Route;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Checks a route's timeouts and a route's or service's retries against the operator's bounds
 * ({@code limits.maxRouteTimeout}, {@code limits.maxRetries}), naming the field at fault.
 */
final class RouteResilienceValidator {

  /** Envoy's retry_on conditions for HTTP (x-envoy-retry-on) and gRPC (x-envoy-retry-grpc-on). */
  private static final Set<String> RETRY_ON =
      Set.of(
          "5xx",
          "gateway-error",
          "reset",
          "reset-before-request",
          "connect-failure",
          "envoy-ratelimited",
          "retriable-4xx",
          "refused-stream",
          "retriable-status-codes",
          "http3-post-connect-failure",
          "cancelled",
          "deadline-exceeded",
          "internal",
          "resource-exhausted",
          "unavailable");

  private static final int MAX_RETRIABLE_STATUS_CODES = 10;

  private final RegistrationRules rules;

  RouteResilienceValidator(RegistrationRules rules) {
    this.rules = rules;
  }

  /**
   * A timeout within the operator's bound ({@code limits.maxRouteTimeout}); zero (no timeout) only
   * when not {@code positive} and the operator left the bound at its maximum.
   */
  Duration timeout(String field, com.google.protobuf.Duration proto, boolean positive) {
    check(
        Durations.isValid(proto) && !Durations.isNegative(proto),
        field,
        "must be a non-negative duration");
    Duration value = Duration.ofSeconds(proto.getSeconds(), proto.getNanos());
    Duration max = rules.maxRouteTimeout();
    if (max.compareTo(RegistrationRules.MAX_ROUTE_TIMEOUT) > 0) {
      max = RegistrationRules.MAX_ROUTE_TIMEOUT;
    }
    boolean bounded = max.compareTo(RegistrationRules.MAX_ROUTE_TIMEOUT) < 0;
    if (value.isZero()) {
      check(!positive, field, "must be positive");
      check(
          !bounded,
          field,
          "0 (no timeout) is longer than the "
              + max
              + " the operator allows (limits.maxRouteTimeout)");
    }
    check(
        value.compareTo(max) <= 0,
        field,
        "must be at most "
            + max
            + (bounded ? ", as the operator allows (limits.maxRouteTimeout)" : ""));
    return value;
  }

  /**
   * A WebSocket lives as long as it is used: without a timeout of its own, its route has none (the
   * listener's idle timeout ends idle ones), or the operator's bound if there is one.
   */
  Duration webSocketTimeout() {
    Duration max = rules.maxRouteTimeout();
    return max.compareTo(RegistrationRules.MAX_ROUTE_TIMEOUT) < 0 ? max : Duration.ZERO;
  }

  /**
   * A forwarding route without a timeout has Envoy's 15 s, unless the operator's bound is shorter:
   * then the bound, as a WebSocket route gets it, so no route outlasts what the operator allows.
   */
  Optional<Duration> unsetTimeout(Route proto) {
    Duration max = rules.maxRouteTimeout();
    boolean forwards = proto.getAnswerCase() == Route.AnswerCase.ANSWER_NOT_SET;
    return forwards && max.compareTo(io.signalbox.envoy.EnvoyDefaults.ROUTE_TIMEOUT) < 0
        ? Optional.of(max)
        : Optional.empty();
  }

  RetryPolicy retry(String field, io.signalbox.registry.v1.RetryPolicy proto) {
    int max = Math.min(RegistrationRules.MAX_RETRIES, rules.maxRetries());
    check(proto.getAttempts() >= 1, field + ".attempts", "must be at least 1");
    check(
        proto.getAttempts() <= max,
        field + ".attempts",
        proto.getAttempts()
            + " retries are more than the "
            + max
            + " the operator allows (limits.maxRetries)");
    Optional<Duration> perTry =
        proto.hasPerTryTimeout()
            ? Optional.of(timeout(field + ".per_try_timeout", proto.getPerTryTimeout(), true))
            : Optional.empty();
    check(
        proto.getRetryOnCount() <= RETRY_ON.size(),
        field + ".retry_on",
        "has more than " + RETRY_ON.size() + " conditions");
    List<String> retryOn = new ArrayList<>();
    for (int i = 0; i < proto.getRetryOnCount(); i++) {
      String condition = proto.getRetryOn(i);
      check(
          RETRY_ON.contains(condition),
          field + ".retry_on[" + i + "]",
          "'" + abbreviate(condition) + "' is not one of " + new java.util.TreeSet<>(RETRY_ON));
      if (!retryOn.contains(condition)) {
        retryOn.add(condition);
      }
    }
    check(
        proto.getRetriableStatusCodesCount() <= MAX_RETRIABLE_STATUS_CODES,
        field + ".retriable_status_codes",
        "has more than " + MAX_RETRIABLE_STATUS_CODES);
    List<Integer> codes = new ArrayList<>();
    for (int i = 0; i < proto.getRetriableStatusCodesCount(); i++) {
      int code = proto.getRetriableStatusCodes(i);
      check(
          code >= 100 && code <= 599,
          field + ".retriable_status_codes[" + i + "]",
          Integer.toUnsignedString(code) + " is not an HTTP status (100-599)");
      if (!codes.contains(code)) {
        codes.add(code);
      }
    }
    Optional<RetryPolicy.Backoff> backoff = Optional.empty();
    if (proto.hasBackoffBaseInterval()) {
      Duration base =
          between(
              field + ".backoff_base_interval",
              proto.getBackoffBaseInterval(),
              Duration.ofMillis(1),
              Duration.ofSeconds(10));
      Duration longest =
          proto.hasBackoffMaxInterval()
              ? between(
                  field + ".backoff_max_interval",
                  proto.getBackoffMaxInterval(),
                  base,
                  Duration.ofSeconds(60))
              : base.multipliedBy(10);
      backoff = Optional.of(new RetryPolicy.Backoff(base, longest));
    } else {
      check(
          !proto.hasBackoffMaxInterval(),
          field + ".backoff_max_interval",
          "goes with backoff_base_interval");
    }
    return new RetryPolicy(proto.getAttempts(), perTry, retryOn, codes, backoff);
  }

  private static Duration between(
      String field, com.google.protobuf.Duration proto, Duration min, Duration max) {
    check(Durations.isValid(proto), field, "is not a valid duration");
    Duration value = Duration.ofSeconds(proto.getSeconds(), proto.getNanos());
    check(
        value.compareTo(min) >= 0 && value.compareTo(max) <= 0,
        field,
        "must be between " + min.toMillis() + " ms and " + max.toMillis() + " ms");
    return value;
  }
}
