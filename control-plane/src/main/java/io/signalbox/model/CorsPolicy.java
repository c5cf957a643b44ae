package io.signalbox.model;

import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * What browsers may do across origins on a route: Envoy answers preflights and adds the CORS
 * response headers for allowed origins.
 *
 * @param allowOrigins exact origins, or "*" for any
 * @param maxAge how long a preflight answer may be cached; empty: the browser's default
 */
public record CorsPolicy(
    List<String> allowOrigins,
    List<String> allowMethods,
    List<String> allowHeaders,
    List<String> exposeHeaders,
    Optional<Duration> maxAge,
    boolean allowCredentials) {

  public CorsPolicy {
    allowOrigins = List.copyOf(allowOrigins);
    allowMethods = List.copyOf(allowMethods);
    allowHeaders = List.copyOf(allowHeaders);
    exposeHeaders = List.copyOf(exposeHeaders);
    Objects.requireNonNull(maxAge, "maxAge");
  }
}
