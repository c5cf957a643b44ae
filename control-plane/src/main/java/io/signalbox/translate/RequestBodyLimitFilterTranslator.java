package io.signalbox.translate;

import com.google.protobuf.UInt32Value;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.extensions.filters.http.buffer.v3.Buffer;
import io.envoyproxy.envoy.extensions.filters.http.buffer.v3.BufferPerRoute;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.signalbox.config.GatewaySettings;
import java.util.List;

/**
 * A route's request body limit (envoy.filters.http.buffer): Envoy takes in the whole body, up to
 * the limit, before forwarding, and answers 413 to a larger one, whether its size is announced by
 * Content-Length or found while reading a chunked body.
 */
final class RequestBodyLimitFilterTranslator implements HttpFilterTranslator {

  @Override
  public List<HttpFilter> httpFilters(GatewaySettings settings) {
    // The chain's own limit is never used (the filter runs only where a route enables it with its
    // own), but Envoy requires one.
    return List.of(
        PerRouteFilters.disabledInChain(
            XdsNames.BUFFER_FILTER,
            Buffer.newBuilder().setMaxRequestBytes(UInt32Value.of(1024)).build()));
  }

  @Override
  public void patchRoute(PolicyRoute route, Route.Builder envoyRoute, GatewaySettings settings) {
    PerRouteFilters.forwarding(route)
        .filter(forward -> forward.maxRequestBytes() > 0)
        .ifPresent(
            forward ->
                PerRouteFilters.enable(
                    envoyRoute,
                    XdsNames.BUFFER_FILTER,
                    BufferPerRoute.newBuilder()
                        .setBuffer(
                            Buffer.newBuilder()
                                .setMaxRequestBytes(UInt32Value.of(forward.maxRequestBytes())))
                        .build()));
  }
}
