package io.signalbox.translate;

import com.google.protobuf.Any;
import com.google.protobuf.BoolValue;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.filters.http.router.v3.Router;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.Rds;

/** The gateway's HTTP listener: an HTTP connection manager whose routes come over RDS. */
final class ListenerTranslator {

  private final GatewayConfig gateway;

  ListenerTranslator(GatewayConfig gateway) {
    this.gateway = gateway;
  }

  Listener httpListener() {
    HttpConnectionManager connectionManager = HttpConnectionManager.newBuilder()
        .setStatPrefix(gateway.listenerName())
        .setCodecType(HttpConnectionManager.CodecType.AUTO)
        .setRds(Rds.newBuilder()
            .setConfigSource(XdsNames.adsConfigSource())
            .setRouteConfigName(XdsNames.routeConfiguration(gateway.listenerName())))
        .addHttpFilters(HttpFilter.newBuilder()
            .setName(XdsNames.ROUTER_FILTER)
            .setTypedConfig(Any.pack(Router.getDefaultInstance())))
        // Virtual hosts are registered without ports; a client's "Host: api.example.com:10000" must still match.
        .setStripAnyHostPort(true)
        // An edge gateway: the peer address is the client, and x-forwarded-for from outside is not trusted.
        .setUseRemoteAddress(BoolValue.of(true))
        // Match routes on the normalized path, so "/public/../admin" cannot slip past a route meant for "/admin".
        .setNormalizePath(BoolValue.of(true))
        .setMergeSlashes(true)
        .build();
    return Listener.newBuilder()
        .setName(gateway.listenerName())
        .setAddress(Address.newBuilder().setSocketAddress(SocketAddress.newBuilder()
            .setAddress(gateway.bindAddress())
            .setPortValue(gateway.port())))
        .addFilterChains(FilterChain.newBuilder().addFilters(Filter.newBuilder()
            .setName(XdsNames.HTTP_CONNECTION_MANAGER)
            .setTypedConfig(Any.pack(connectionManager))))
        .build();
  }
}
