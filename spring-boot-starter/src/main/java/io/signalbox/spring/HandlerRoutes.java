package io.signalbox.spring;

import io.signalbox.client.RouteSpec;
import io.signalbox.client.Routes;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.TreeSet;

/**
 * Routes derived from handler path patterns ({@code signalbox.derive-routes-from-handlers}), one
 * per distinct literal path:
 *
 * <ul>
 *   <li>a pattern without variables or wildcards ({@code /health/live}) becomes an exact route;
 *   <li>a pattern with them becomes a prefix route of its literal leading segments: {@code
 *       /orders/{id}} and {@code /orders/**} become prefix {@code /orders}; {@code /{id}} becomes
 *       prefix {@code /};
 *   <li>a route that another covers is left out (exact {@code /orders} and prefix {@code
 *       /orders/special} under prefix {@code /orders}), so the service claims each path once.
 * </ul>
 *
 * Methods are not carried over: the application answers a wrong method itself (405).
 */
final class HandlerRoutes {

  /** A derived route, before it becomes the SDK's {@link RouteSpec}. */
  record PathRoute(Kind kind, String path) {

    enum Kind {
      PREFIX,
      EXACT
    }

    static PathRoute prefix(String path) {
      return new PathRoute(Kind.PREFIX, path);
    }

    static PathRoute exact(String path) {
      return new PathRoute(Kind.EXACT, path);
    }

    RouteSpec toSpec() {
      return kind == Kind.PREFIX ? Routes.prefix(path) : Routes.exact(path);
    }

    /** Whether this prefix route takes every request {@code other} would: segment boundaries. */
    boolean covers(PathRoute other) {
      return kind == Kind.PREFIX
          && (path.equals("/") || other.path.equals(path) || other.path.startsWith(path + "/"));
    }
  }

  private HandlerRoutes() {}

  /** Sorted by path (prefix before exact on a tie), so a restart registers the same routes. */
  static List<PathRoute> derive(Collection<String> patterns) {
    TreeSet<PathRoute> candidates =
        new TreeSet<>(Comparator.comparing(PathRoute::path).thenComparing(PathRoute::kind));
    patterns.stream().map(HandlerRoutes::route).forEach(candidates::add);
    List<PathRoute> kept = new ArrayList<>();
    for (PathRoute candidate : candidates) {
      boolean covered =
          candidates.stream()
              .anyMatch(other -> !other.equals(candidate) && other.covers(candidate));
      if (!covered) {
        kept.add(candidate);
      }
    }
    return List.copyOf(kept);
  }

  private static PathRoute route(String pattern) {
    String path = pattern.startsWith("/") ? pattern : "/" + pattern;
    List<String> literal = new ArrayList<>();
    for (String segment : path.substring(1).split("/", -1)) {
      if (isPattern(segment)) {
        return PathRoute.prefix("/" + String.join("/", literal));
      }
      literal.add(segment);
    }
    return PathRoute.exact(path);
  }

  private static boolean isPattern(String segment) {
    return segment.contains("{") || segment.contains("*") || segment.contains("?");
  }
}
