package io.signalbox.config;

import io.signalbox.model.RegistryQuotas;
import java.time.Duration;
import java.util.Objects;

/**
 * Bounds the operator puts on registrations and on client requests.
 *
 * @param maxRoutesPerService routes one registration may declare
 * @param maxRequestHeadersKb Envoy rejects requests with larger headers (431)
 * @param upstreamConnectTimeout how long Envoy waits to connect to an instance before trying
 *     another
 * @param maxRegexProgramSize the largest RE2 program a registered regex may compile to: Envoy's own
 *     limit ({@code re2.max_program_size.error_level}, 100 unless its runtime says otherwise), so
 *     that Envoy never refuses a registration Signalbox accepted
 * @param registry how much of the registry callers may take
 */
public record GatewayLimits(
    int maxRoutesPerService,
    int maxRequestHeadersKb,
    Duration upstreamConnectTimeout,
    int maxRegexProgramSize,
    RegistryQuotas registry,
    int maxRetries,
    Duration maxRouteTimeout) {

  /** Retries a route may ask for at most, whatever the operator allows. */
  public static final int MAX_RETRIES = io.signalbox.registry.RegistrationRules.MAX_RETRIES;

  /** A route's timeout (and a try's) may be at most this long, whatever the operator allows. */
  public static final Duration MAX_ROUTE_TIMEOUT =
      io.signalbox.registry.RegistrationRules.MAX_ROUTE_TIMEOUT;

  /** Limits with the default bounds on retries (5) and route timeouts (1 hour). */
  public GatewayLimits(
      int maxRoutesPerService,
      int maxRequestHeadersKb,
      Duration upstreamConnectTimeout,
      int maxRegexProgramSize,
      RegistryQuotas registry) {
    this(
        maxRoutesPerService,
        maxRequestHeadersKb,
        upstreamConnectTimeout,
        maxRegexProgramSize,
        registry,
        io.signalbox.registry.RegistrationRules.DEFAULT_MAX_RETRIES,
        MAX_ROUTE_TIMEOUT);
  }

  /** Envoy's default {@code re2.max_program_size.error_level}. */
  public static final int ENVOY_MAX_REGEX_PROGRAM_SIZE =
      io.signalbox.registry.RegistrationRules.DEFAULT_MAX_REGEX_PROGRAM_SIZE;

  public static final GatewayLimits DEFAULT =
      new GatewayLimits(
          100, 60, Duration.ofSeconds(1), ENVOY_MAX_REGEX_PROGRAM_SIZE, RegistryQuotas.DEFAULT);

  public GatewayLimits {
    Objects.requireNonNull(upstreamConnectTimeout, "upstreamConnectTimeout");
    Objects.requireNonNull(registry, "registry");
    Objects.requireNonNull(maxRouteTimeout, "maxRouteTimeout");
  }
}
