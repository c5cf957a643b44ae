package io.signalbox.client;

import io.signalbox.registry.v1.PathMatch;
import io.signalbox.registry.v1.Route;
import java.util.Objects;

/**
 * Starting points for the routes a service asks the gateway to serve, e.g. {@code
 * Routes.prefix("/orders").methods("GET", "POST").timeout(Duration.ofSeconds(3))}.
 */
public final class Routes {

  private Routes() {}

  /**
   * Paths starting with {@code prefix} on a segment boundary: "/orders" matches "/orders/1", not
   * "/ordersx".
   */
  public static RouteSpec prefix(String prefix) {
    return path(PathMatch.newBuilder().setPrefix(Objects.requireNonNull(prefix, "prefix")));
  }

  /** Exactly this path. */
  public static RouteSpec exact(String path) {
    return path(PathMatch.newBuilder().setExact(Objects.requireNonNull(path, "path")));
  }

  /** Paths matching the whole of this RE2 regular expression. */
  public static RouteSpec regex(String regex) {
    return path(PathMatch.newBuilder().setRegex(Objects.requireNonNull(regex, "regex")));
  }

  private static RouteSpec path(PathMatch.Builder match) {
    return new RouteSpec(Route.newBuilder().setPath(match).build());
  }
}
