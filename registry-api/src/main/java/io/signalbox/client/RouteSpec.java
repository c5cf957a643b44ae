package io.signalbox.client;

import io.signalbox.registry.v1.HeaderMatch;
import io.signalbox.registry.v1.PathMatch;
import io.signalbox.registry.v1.Route;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.function.UnaryOperator;
import org.jspecify.annotations.Nullable;

/**
 * An immutable route under construction: every method returns a new spec, so a common base can be
 * shared and refined. Obtained from {@link Routes}; {@link #toProto()} gives the wire form.
 */
public final class RouteSpec {

  private final Route route;

  RouteSpec(Route route) {
    this.route = route;
  }

  /**
   * Adds virtual hosts (":authority" without port, e.g. "api.example.com" or "*.example.com"); none
   * means all.
   */
  public RouteSpec hosts(String... hosts) {
    return with(b -> b.addAllHosts(List.of(hosts)));
  }

  /** Adds allowed HTTP methods; none means any. */
  public RouteSpec methods(String... methods) {
    return with(b -> b.addAllMethods(List.of(methods)));
  }

  /** Adds a header condition; all of them must match. */
  public RouteSpec header(HeaderMatch match) {
    Objects.requireNonNull(match, "match");
    return with(b -> b.addHeaders(match));
  }

  /**
   * Replaces the matched prefix before forwarding, e.g. "/orders" → "/" so the service sees its own
   * paths.
   */
  public RouteSpec prefixRewrite(String rewrite) {
    Objects.requireNonNull(rewrite, "rewrite");
    if (route.getPath().getKindCase() != PathMatch.KindCase.PREFIX) {
      throw new IllegalStateException(
          "prefixRewrite needs a prefix match, not " + route.getPath().getKindCase());
    }
    return with(b -> b.setPrefixRewrite(rewrite));
  }

  /**
   * Upstream response timeout; {@link Duration#ZERO} disables it. Envoy's default (15 s) applies
   * when unset.
   */
  public RouteSpec timeout(Duration timeout) {
    Objects.requireNonNull(timeout, "timeout");
    if (timeout.isNegative()) {
      throw new IllegalArgumentException("timeout must not be negative: " + timeout);
    }
    return with(b -> b.setTimeout(ProtoDurations.toProto(timeout)));
  }

  /** Requests need a valid JWT (replaces the service's auth policy). */
  public RouteSpec auth(AuthSpec auth) {
    Objects.requireNonNull(auth, "auth");
    return with(b -> b.setAuth(auth.toProto()).clearPublic());
  }

  /** Served without authentication, even when the service or the operator requires it. */
  public RouteSpec publicRoute() {
    return with(b -> b.setPublic(true).clearAuth());
  }

  /** Limits the request rate (replaces the service's limit). */
  public RouteSpec rateLimit(RateLimitSpec limit) {
    Objects.requireNonNull(limit, "limit");
    return with(b -> b.setRateLimit(limit.toProto()));
  }

  /** The wire form, as sent in a {@code RegisterRequest}. */
  public Route toProto() {
    return route;
  }

  private RouteSpec with(UnaryOperator<Route.Builder> change) {
    return new RouteSpec(change.apply(route.toBuilder()).build());
  }

  @Override
  public boolean equals(@Nullable Object o) {
    return o instanceof RouteSpec other && route.equals(other.route);
  }

  @Override
  public int hashCode() {
    return route.hashCode();
  }

  @Override
  public String toString() {
    return "RouteSpec{" + route.toString().replace('\n', ' ').trim() + "}";
  }
}
