package io.signalbox.translate;

import com.google.protobuf.Any;
import com.google.protobuf.BoolValue;
import com.google.protobuf.UInt32Value;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.filters.http.router.v3.Router;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.Rds;
import io.signalbox.config.GatewaySettings;
import io.signalbox.config.ListenerSpec;
import java.util.ArrayList;
import java.util.List;

/**
 * The gateway's listeners, one per listener of the settings: an HTTP connection manager whose routes come over RDS
 * and whose filter chain is the policy filters followed by the router.
 */
final class ListenerTranslator {

  private final List<HttpFilterTranslator> filters;

  ListenerTranslator(List<HttpFilterTranslator> filters) {
    this.filters = filters;
  }

  List<Listener> listeners(GatewaySettings settings) {
    List<HttpFilter> httpFilters = new ArrayList<>();
    filters.forEach(filter -> httpFilters.addAll(filter.httpFilters(settings)));
    httpFilters.add(HttpFilter.newBuilder()
        .setName(XdsNames.ROUTER_FILTER)
        .setTypedConfig(Any.pack(Router.getDefaultInstance()))
        .build());
    return settings.listeners().stream().map(listener -> switch (listener.protocol()) {
      case HTTP -> plaintextListener(listener, httpFilters, settings);
      case HTTPS -> throw new UnsupportedOperationException("TLS listeners are not translated yet");
    }).toList();
  }

  private Listener plaintextListener(ListenerSpec listener, List<HttpFilter> httpFilters, GatewaySettings settings) {
    String routes = listener.redirectToHttps()
        ? XdsNames.redirectRouteConfiguration(listener.name()) : XdsNames.GATEWAY_ROUTES;
    return Listener.newBuilder()
        .setName(listener.name())
        .setAddress(address(listener))
        .addFilterChains(FilterChain.newBuilder()
            .addFilters(connectionManagerFilter(listener, routes, httpFilters, settings)))
        .build();
  }

  static Address address(ListenerSpec listener) {
    return Address.newBuilder().setSocketAddress(SocketAddress.newBuilder()
        .setAddress(listener.address())
        .setPortValue(listener.port())).build();
  }

  static Filter connectionManagerFilter(ListenerSpec listener, String routeConfigurationName,
                                        List<HttpFilter> httpFilters, GatewaySettings settings) {
    HttpConnectionManager connectionManager = HttpConnectionManager.newBuilder()
        .setStatPrefix(listener.name())
        .setCodecType(HttpConnectionManager.CodecType.AUTO)
        .setRds(Rds.newBuilder()
            .setConfigSource(XdsNames.adsConfigSource())
            .setRouteConfigName(routeConfigurationName))
        .addAllHttpFilters(httpFilters)
        // Virtual hosts are registered without ports; a client's "Host: api.example.com:10000" must still match.
        .setStripAnyHostPort(true)
        // An edge gateway: the peer address is the client, and x-forwarded-for from outside is not trusted.
        .setUseRemoteAddress(BoolValue.of(true))
        // Match routes on the normalized path, so "/public/../admin" cannot slip past a route meant for "/admin".
        .setNormalizePath(BoolValue.of(true))
        .setMergeSlashes(true)
        .setMaxRequestHeadersKb(UInt32Value.of(settings.limits().maxRequestHeadersKb()))
        .build();
    return Filter.newBuilder()
        .setName(XdsNames.HTTP_CONNECTION_MANAGER)
        .setTypedConfig(Any.pack(connectionManager))
        .build();
  }
}
