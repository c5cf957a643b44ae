package io.signalbox.translate;

import com.google.protobuf.Any;
import io.envoyproxy.envoy.config.core.v3.TypedExtensionConfig;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.extensions.compression.brotli.compressor.v3.Brotli;
import io.envoyproxy.envoy.extensions.compression.gzip.compressor.v3.Gzip;
import io.envoyproxy.envoy.extensions.filters.http.compressor.v3.Compressor;
import io.envoyproxy.envoy.extensions.filters.http.compressor.v3.CompressorPerRoute;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.signalbox.config.GatewaySettings;
import io.signalbox.model.RouteAction;
import java.util.List;

/**
 * Response compression on the routes that ask for it: brotli or gzip, whichever the client prefers
 * in Accept-Encoding (Envoy's compressor filters choose among themselves by the client's weights,
 * and of equal weights the encoding the client names first). Envoy's defaults decide the rest:
 * responses of at least 30 bytes of common text types, unless the instance already encoded them.
 */
final class CompressionFilterTranslator implements HttpFilterTranslator {

  private static final Compressor GZIP =
      Compressor.newBuilder()
          .setCompressorLibrary(
              TypedExtensionConfig.newBuilder()
                  .setName(XdsNames.GZIP_COMPRESSOR)
                  .setTypedConfig(Any.pack(Gzip.getDefaultInstance())))
          .build();

  private static final Compressor BROTLI =
      Compressor.newBuilder()
          .setCompressorLibrary(
              TypedExtensionConfig.newBuilder()
                  .setName(XdsNames.BROTLI_COMPRESSOR)
                  .setTypedConfig(Any.pack(Brotli.getDefaultInstance())))
          .build();

  @Override
  public List<HttpFilter> httpFilters(GatewaySettings settings) {
    return List.of(
        PerRouteFilters.disabledInChain(XdsNames.BROTLI_COMPRESSOR_FILTER, BROTLI),
        PerRouteFilters.disabledInChain(XdsNames.COMPRESSOR_FILTER, GZIP));
  }

  @Override
  public void patchRoute(PolicyRoute route, Route.Builder envoyRoute, GatewaySettings settings) {
    if (PerRouteFilters.forwarding(route).filter(RouteAction.Forward::compress).isPresent()) {
      // Enabled as configured in the chain: the per-route message overrides nothing.
      CompressorPerRoute enabled =
          CompressorPerRoute.newBuilder()
              .setOverrides(
                  io.envoyproxy.envoy.extensions.filters.http.compressor.v3.CompressorOverrides
                      .getDefaultInstance())
              .build();
      PerRouteFilters.enable(envoyRoute, XdsNames.BROTLI_COMPRESSOR_FILTER, enabled);
      PerRouteFilters.enable(envoyRoute, XdsNames.COMPRESSOR_FILTER, enabled);
    }
  }
}
