package io.signalbox.translate;

import com.google.protobuf.Any;
import com.google.protobuf.Message;
import io.envoyproxy.envoy.config.route.v3.FilterConfig;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.signalbox.model.RouteAction;
import java.util.Optional;

/**
 * Shared builder for HTTP filters that only some routes use (fault injection, compression, the body
 * limit): the filter sits in every chain disabled, so a listener never depends on registrations,
 * and a route that uses it enables it with its own configuration.
 */
final class PerRouteFilters {

  private PerRouteFilters() {}

  /** The filter in the chain, doing nothing until a route enables it. */
  static HttpFilter disabledInChain(String name, Message config) {
    return HttpFilter.newBuilder()
        .setName(name)
        .setTypedConfig(Any.pack(config))
        .setDisabled(true)
        .build();
  }

  /** Enables the filter on this route with {@code config}. */
  static void enable(Route.Builder route, String name, Message config) {
    route.putTypedPerFilterConfig(
        name,
        Any.pack(FilterConfig.newBuilder().setConfig(Any.pack(config)).setDisabled(false).build()));
  }

  /** The route's forwarding action, if it forwards. */
  static Optional<RouteAction.Forward> forwarding(PolicyRoute route) {
    return route.spec().action() instanceof RouteAction.Forward forward
        ? Optional.of(forward)
        : Optional.empty();
  }
}
