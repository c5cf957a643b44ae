package io.signalbox.config;

import static io.signalbox.config.GatewaySettingsLoader.check;
import static io.signalbox.config.GatewaySettingsLoader.positiveDuration;

import io.signalbox.model.RegistryQuotas;
import java.time.Duration;

/**
 * Checks {@code limits:} and builds its {@link GatewayLimits}: what the operator bounds
 * registrations by, each within what Envoy and the control plane can take.
 */
final class LimitsReader {

  /** Envoy's own ceiling for max_request_headers_kb. */
  private static final int MAX_REQUEST_HEADERS_KB = 8192;

  /** Beyond this even an estimate-checked regex costs noticeable CPU per registration. */
  static final int MAX_REGEX_PROGRAM_SIZE = 10_000;

  static final int MAX_QUOTA = 1_000_000;

  private LimitsReader() {}

  static GatewayLimits read(SettingsFileFormat.Limits format) {
    GatewayLimits defaults = GatewayLimits.DEFAULT;
    int routes =
        format.maxRoutesPerService == null
            ? defaults.maxRoutesPerService()
            : format.maxRoutesPerService;
    check(
        routes >= 1 && routes <= 100,
        "limits.maxRoutesPerService",
        routes + " is out of range 1-100");
    int headers =
        format.maxRequestHeadersKb == null
            ? defaults.maxRequestHeadersKb()
            : format.maxRequestHeadersKb;
    check(
        headers >= 1 && headers <= MAX_REQUEST_HEADERS_KB,
        "limits.maxRequestHeadersKb",
        headers + " is out of range 1-" + MAX_REQUEST_HEADERS_KB);
    Duration connect =
        format.upstreamConnectTimeout == null
            ? defaults.upstreamConnectTimeout()
            : positiveDuration("limits.upstreamConnectTimeout", format.upstreamConnectTimeout);
    int regexProgram =
        format.maxRegexProgramSize == null
            ? defaults.maxRegexProgramSize()
            : format.maxRegexProgramSize;
    check(
        regexProgram >= 10 && regexProgram <= MAX_REGEX_PROGRAM_SIZE,
        "limits.maxRegexProgramSize",
        regexProgram + " is out of range 10-" + MAX_REGEX_PROGRAM_SIZE);
    int retries = format.maxRetries == null ? defaults.maxRetries() : format.maxRetries;
    check(
        retries >= 0 && retries <= GatewayLimits.MAX_RETRIES,
        "limits.maxRetries",
        retries + " is out of range 0-" + GatewayLimits.MAX_RETRIES);
    Duration routeTimeout =
        format.maxRouteTimeout == null
            ? defaults.maxRouteTimeout()
            : positiveDuration("limits.maxRouteTimeout", format.maxRouteTimeout);
    check(
        routeTimeout.compareTo(GatewayLimits.MAX_ROUTE_TIMEOUT) <= 0,
        "limits.maxRouteTimeout",
        format.maxRouteTimeout
            + " is longer than "
            + GatewayLimits.MAX_ROUTE_TIMEOUT.toHours()
            + "h");
    RegistryQuotas quotas = defaults.registry();
    return new GatewayLimits(
        routes,
        headers,
        connect,
        regexProgram,
        new RegistryQuotas(
            quota("limits.maxServices", format.maxServices, quotas.maxServices()),
            quota(
                "limits.maxInstancesPerService",
                format.maxInstancesPerService,
                quotas.maxInstancesPerService()),
            quota(
                "limits.maxServicesPerIdentity",
                format.maxServicesPerIdentity,
                quotas.maxServicesPerIdentity()),
            quota(
                "limits.maxInstancesPerIdentity",
                format.maxInstancesPerIdentity,
                quotas.maxInstancesPerIdentity()),
            quota("limits.maxHosts", format.maxHosts, quotas.maxHosts()),
            registryBytes(format.maxRegistryBytes, quotas.maxRegistryBytes()),
            quota("limits.maxPlacedRoutes", format.maxPlacedRoutes, quotas.maxPlacedRoutes())),
        retries,
        routeTimeout);
  }

  private static long registryBytes(String configured, long fallback) {
    if (configured == null) {
      return fallback;
    }
    long bytes;
    try {
      bytes = ByteSizeText.parse(configured);
    } catch (IllegalArgumentException e) {
      throw new InvalidSettingsException("limits.maxRegistryBytes: " + e.getMessage());
    }
    check(
        bytes >= (1L << 20) && bytes <= (64L << 30),
        "limits.maxRegistryBytes",
        configured + " is out of range 1MiB-64GiB");
    return bytes;
  }

  private static int quota(String field, Integer configured, int fallback) {
    int value = configured == null ? fallback : configured;
    check(value >= 1 && value <= MAX_QUOTA, field, value + " is out of range 1-" + MAX_QUOTA);
    return value;
  }
}
