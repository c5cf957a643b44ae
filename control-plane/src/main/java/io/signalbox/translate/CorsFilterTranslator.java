package io.signalbox.translate;

import com.google.protobuf.Any;
import com.google.protobuf.BoolValue;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.extensions.filters.http.cors.v3.Cors;
import io.envoyproxy.envoy.extensions.filters.http.cors.v3.CorsPolicy;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.type.matcher.v3.RegexMatcher;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.signalbox.config.GatewaySettings;
import java.util.List;

/**
 * CORS: Envoy's cors filter first in every chain (a preflight carries no token, so it is answered
 * before authentication), configured per route from the registration's policy. A route without one
 * gets no CORS handling from Envoy.
 */
final class CorsFilterTranslator implements HttpFilterTranslator {

  /**
   * Origin {@code "*"}: a regex matching every origin. Envoy's StringMatcher refuses an empty
   * prefix (its length must be at least 1), so "a prefix of nothing" cannot say it.
   */
  private static final StringMatcher ANY_ORIGIN =
      StringMatcher.newBuilder().setSafeRegex(RegexMatcher.newBuilder().setRegex(".*")).build();

  @Override
  public List<HttpFilter> httpFilters(GatewaySettings settings) {
    return List.of(
        HttpFilter.newBuilder()
            .setName(XdsNames.CORS_FILTER)
            .setTypedConfig(Any.pack(Cors.getDefaultInstance()))
            .build());
  }

  @Override
  public void patchRoute(PolicyRoute route, Route.Builder envoyRoute, GatewaySettings settings) {
    route
        .spec()
        .cors()
        .ifPresent(
            cors ->
                envoyRoute.putTypedPerFilterConfig(XdsNames.CORS_FILTER, Any.pack(policy(cors))));
  }

  private static CorsPolicy policy(io.signalbox.model.CorsPolicy cors) {
    CorsPolicy.Builder policy = CorsPolicy.newBuilder();
    for (String origin : cors.allowOrigins()) {
      policy.addAllowOriginStringMatch(
          origin.equals("*") ? ANY_ORIGIN : StringMatcher.newBuilder().setExact(origin).build());
    }
    policy.setAllowMethods(
        String.join(
            ",",
            cors.allowMethods().isEmpty() ? List.of("GET", "HEAD", "POST") : cors.allowMethods()));
    if (!cors.allowHeaders().isEmpty()) {
      policy.setAllowHeaders(String.join(",", cors.allowHeaders()));
    }
    if (!cors.exposeHeaders().isEmpty()) {
      policy.setExposeHeaders(String.join(",", cors.exposeHeaders()));
    }
    cors.maxAge().ifPresent(age -> policy.setMaxAge(Long.toString(age.toSeconds())));
    if (cors.allowCredentials()) {
      policy.setAllowCredentials(BoolValue.of(true));
    }
    return policy.build();
  }
}
