package io.signalbox.translate;

import com.google.protobuf.Any;
import com.google.protobuf.BoolValue;
import com.google.protobuf.UInt32Value;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.TransportSocket;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.FilterChainMatch;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.listener.v3.ListenerFilter;
import io.envoyproxy.envoy.extensions.filters.http.router.v3.Router;
import io.envoyproxy.envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.Rds;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SdsSecretConfig;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.TlsParameters;
import io.signalbox.config.CertificateSpec;
import io.signalbox.config.GatewaySettings;
import io.signalbox.config.ListenerSpec;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The gateway's listeners, one per listener of the settings: an HTTP connection manager whose
 * routes come over RDS and whose filter chain is the policy filters followed by the router.
 *
 * <p>An HTTPS listener terminates TLS in front of that same connection manager. It has one filter
 * chain per certificate, chosen by the SNI name the client sends, and a default chain with the
 * first certificate for clients that send none or an unknown one. The chains name their certificate
 * as an SDS secret instead of carrying it, so a rotated certificate leaves the listener unchanged:
 * Envoy drains (and after its drain time closes) every connection of a filter chain that changes.
 */
final class ListenerTranslator {

  private final List<HttpFilterTranslator> filters;

  ListenerTranslator(List<HttpFilterTranslator> filters) {
    this.filters = filters;
  }

  List<Listener> listeners(GatewaySettings settings) {
    List<HttpFilter> httpFilters = new ArrayList<>();
    filters.forEach(filter -> httpFilters.addAll(filter.httpFilters(settings)));
    httpFilters.add(
        HttpFilter.newBuilder()
            .setName(XdsNames.ROUTER_FILTER)
            .setTypedConfig(Any.pack(Router.getDefaultInstance()))
            .build());
    return settings.listeners().stream()
        .map(
            listener ->
                switch (listener.protocol()) {
                  case HTTP -> plaintextListener(listener, httpFilters, settings);
                  case HTTPS -> tlsListener(listener, httpFilters, settings);
                })
        .toList();
  }

  private Listener plaintextListener(
      ListenerSpec listener, List<HttpFilter> httpFilters, GatewaySettings settings) {
    String routes =
        listener.redirectToHttps()
            ? XdsNames.redirectRouteConfiguration(listener.name())
            : XdsNames.GATEWAY_ROUTES;
    return Listener.newBuilder()
        .setName(listener.name())
        .setAddress(address(listener))
        .addFilterChains(
            FilterChain.newBuilder()
                .addFilters(connectionManagerFilter(listener, routes, httpFilters, settings)))
        .build();
  }

  private Listener tlsListener(
      ListenerSpec listener, List<HttpFilter> httpFilters, GatewaySettings settings) {
    List<CertificateSpec> certificates = settings.certificates();
    if (certificates.isEmpty()) {
      throw new IllegalStateException(
          "https listener " + listener.name() + " has no certificate to serve");
    }
    Filter connectionManager =
        connectionManagerFilter(listener, XdsNames.GATEWAY_ROUTES, httpFilters, settings);
    List<FilterChain> sniChains = new ArrayList<>();
    // Envoy rejects a listener whose chains match the same name twice. The settings loader should
    // not let a host
    // appear in two certificates; settings built in code are not checked, so the first certificate
    // keeps the host.
    Set<String> claimedHosts = new HashSet<>();
    for (CertificateSpec certificate : certificates) {
      List<String> hosts = certificate.hosts().stream().filter(claimedHosts::add).sorted().toList();
      if (!hosts.isEmpty()) {
        sniChains.add(
            FilterChain.newBuilder()
                .setName(XdsNames.certificateFilterChain(certificate.name()))
                .setFilterChainMatch(FilterChainMatch.newBuilder().addAllServerNames(hosts))
                .setTransportSocket(tlsTransportSocket(listener, certificate))
                .addFilters(connectionManager)
                .build());
      }
    }
    sniChains.sort(Comparator.comparing(FilterChain::getName));
    CertificateSpec fallback = certificates.get(0);
    return Listener.newBuilder()
        .setName(listener.name())
        .setAddress(address(listener))
        // Reads the SNI name from the ClientHello, which is what the chains' server_names match
        // against.
        .addListenerFilters(
            ListenerFilter.newBuilder()
                .setName(XdsNames.TLS_INSPECTOR)
                .setTypedConfig(Any.pack(TlsInspector.getDefaultInstance())))
        .addAllFilterChains(sniChains)
        .setDefaultFilterChain(
            FilterChain.newBuilder()
                .setName(XdsNames.defaultFilterChain(fallback.name()))
                .setTransportSocket(tlsTransportSocket(listener, fallback))
                .addFilters(connectionManager))
        .build();
  }

  private static TransportSocket tlsTransportSocket(
      ListenerSpec listener, CertificateSpec certificate) {
    DownstreamTlsContext context =
        DownstreamTlsContext.newBuilder()
            .setCommonTlsContext(
                CommonTlsContext.newBuilder()
                    .addTlsCertificateSdsSecretConfigs(
                        SdsSecretConfig.newBuilder()
                            .setName(XdsNames.certificateSecret(certificate.name()))
                            .setSdsConfig(XdsNames.adsConfigSource()))
                    .setTlsParams(
                        TlsParameters.newBuilder()
                            .setTlsMinimumProtocolVersion(tlsProtocol(listener.minTlsVersion()))
                            .setTlsMaximumProtocolVersion(TlsParameters.TlsProtocol.TLSv1_3))
                    // The connection manager's AUTO codec speaks whichever protocol ALPN settled
                    // on.
                    .addAlpnProtocols("h2")
                    .addAlpnProtocols("http/1.1"))
            .build();
    return TransportSocket.newBuilder()
        .setName(XdsNames.TLS_TRANSPORT_SOCKET)
        .setTypedConfig(Any.pack(context))
        .build();
  }

  private static TlsParameters.TlsProtocol tlsProtocol(ListenerSpec.TlsVersion version) {
    return switch (version) {
      case TLS_1_2 -> TlsParameters.TlsProtocol.TLSv1_2;
      case TLS_1_3 -> TlsParameters.TlsProtocol.TLSv1_3;
    };
  }

  static Address address(ListenerSpec listener) {
    return EnvoyProtos.socketAddress(listener.address(), listener.port());
  }

  static Filter connectionManagerFilter(
      ListenerSpec listener,
      String routeConfigurationName,
      List<HttpFilter> httpFilters,
      GatewaySettings settings) {
    HttpConnectionManager connectionManager =
        HttpConnectionManager.newBuilder()
            .setStatPrefix(listener.name())
            .setCodecType(HttpConnectionManager.CodecType.AUTO)
            .setRds(
                Rds.newBuilder()
                    .setConfigSource(XdsNames.adsConfigSource())
                    .setRouteConfigName(routeConfigurationName))
            .addAllHttpFilters(httpFilters)
            // Virtual hosts are registered without ports; a client's "Host: api.example.com:10000"
            // must still match.
            .setStripAnyHostPort(true)
            // An edge gateway: the peer address is the client, and x-forwarded-for from outside is
            // not trusted.
            .setUseRemoteAddress(BoolValue.of(true))
            // Match routes on the normalized path, so "/public/../admin" cannot slip past a route
            // meant for "/admin",
            // nor "/public//admin" past one meant for "/public/admin".
            .setNormalizePath(BoolValue.of(true))
            .setMergeSlashes(true)
            // "/api/admin%2Fx" would match a public "/api" route and not a protected "/api/admin"
            // one, while many
            // backends decode it to "/api/admin/x". Envoy answers with a redirect to the unescaped
            // path instead (as
            // Envoy Gateway does by default), so the request that arrives is routed, and
            // authorized, as the backend
            // reads it. Backends that need a literal %2F in a segment cannot be served through this
            // gateway.
            .setPathWithEscapedSlashesAction(
                HttpConnectionManager.PathWithEscapedSlashesAction.UNESCAPE_AND_REDIRECT)
            .setMaxRequestHeadersKb(UInt32Value.of(settings.limits().maxRequestHeadersKb()))
            .addAllAccessLog(AccessLogTranslator.accessLogs(listener, settings))
            .build();
    return Filter.newBuilder()
        .setName(XdsNames.HTTP_CONNECTION_MANAGER)
        .setTypedConfig(Any.pack(connectionManager))
        .build();
  }
}
