package io.signalbox.translate;

import com.google.common.net.InetAddresses;
import com.google.protobuf.Any;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.config.core.v3.HeaderValue;
import io.envoyproxy.envoy.config.core.v3.HeaderValueOption;
import io.envoyproxy.envoy.config.core.v3.HttpUri;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtHeader;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtProvider;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtRequirement;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.PerRouteConfig;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.RemoteJwks;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.signalbox.config.GatewaySettings;
import io.signalbox.config.JwtProviderSpec;
import io.signalbox.model.AuthRequirement;
import java.net.URI;
import java.util.List;

/**
 * JWT authentication (envoy.filters.http.jwt_authn): one Envoy provider per provider of the
 * settings, and a requirement per route. A provider that strips the token it verified has a twin
 * that forwards it ({@link XdsNames#tokenForwardingJwtProvider}), for the edge while it hands a
 * service's policies to its sidecars ({@link PolicyHandover}).
 *
 * <p>The filter names no rules of its own, so a route without per-route configuration is public; a
 * protected route names its provider's requirement. The listener thus depends on the settings only,
 * and a registration reaches the filter through its routes.
 *
 * <p>A verified token's payload is kept in dynamic metadata ({@link
 * XdsNames#JWT_PAYLOAD_METADATA_KEY}), with the space-delimited {@code scope} claim split into a
 * list: claim authorization matches on it, and forwarded claims are copied from it into request
 * headers by the route, which first removes any such header the client sent.
 */
final class JwtAuthnFilterTranslator implements HttpFilterTranslator {

  private static final String AUTHORIZATION_HEADER = "authorization";
  private static final String BEARER_PREFIX = "Bearer ";
  private static final int DEFAULT_HTTP_PORT = 80;
  private static final int DEFAULT_HTTPS_PORT = 443;

  @Override
  public List<HttpFilter> httpFilters(GatewaySettings settings) {
    if (settings.jwtProviders().isEmpty()) {
      return List.of();
    }
    JwtAuthentication.Builder authentication = JwtAuthentication.newBuilder();
    // jwtProviders is sorted by name, so both maps are filled in a stable order.
    settings
        .jwtProviders()
        .forEach(
            (name, provider) -> {
              authentication.putProviders(name, provider(provider, provider.forwardToken()));
              authentication.putRequirementMap(
                  name, JwtRequirement.newBuilder().setProviderName(name).build());
              if (!provider.forwardToken()) {
                // The same provider handing the token on, for an edge route whose sidecars verify
                // it again while policies move to them (PolicyHandover).
                String forwarding = XdsNames.tokenForwardingJwtProvider(name);
                authentication.putProviders(forwarding, provider(provider, true));
                authentication.putRequirementMap(
                    forwarding, JwtRequirement.newBuilder().setProviderName(forwarding).build());
              }
            });
    return List.of(
        HttpFilter.newBuilder()
            .setName(XdsNames.JWT_AUTHN_FILTER)
            .setTypedConfig(Any.pack(authentication.build()))
            .build());
  }

  @Override
  public void patchRoute(PolicyRoute route, Route.Builder envoyRoute, GatewaySettings settings) {
    // Removed before anything is added (Envoy applies removals first): what reaches the backend
    // under a claim
    // header is the token's claim or nothing, never what the client sent, on every route of the
    // service.
    route.claimHeaders().forEach(envoyRoute::addRequestHeadersToRemove);
    if (route.auth().isEmpty()) {
      return;
    }
    // A route whose provider is gone fails closed (PolicyRoute) and is never patched.
    AuthRequirement auth = route.auth().get();
    boolean providerStripsToken =
        settings.jwtProvider(auth.provider()).map(p -> !p.forwardToken()).orElse(true);
    String requirement =
        route.forwardsVerifiedToken() && providerStripsToken
            ? XdsNames.tokenForwardingJwtProvider(auth.provider())
            : auth.provider();
    envoyRoute.putTypedPerFilterConfig(
        XdsNames.JWT_AUTHN_FILTER,
        Any.pack(PerRouteConfig.newBuilder().setRequirementName(requirement).build()));
    for (AuthRequirement.ClaimToHeader forward : auth.forwardClaims()) {
      // A claim the token lacks adds no header (the client's copy is already removed above).
      envoyRoute.addRequestHeadersToAdd(
          HeaderValueOption.newBuilder()
              .setHeader(
                  HeaderValue.newBuilder()
                      .setKey(forward.header())
                      .setValue(
                          "%DYNAMIC_METADATA("
                              + XdsNames.JWT_AUTHN_FILTER
                              + ":"
                              + XdsNames.JWT_PAYLOAD_METADATA_KEY
                              + ":"
                              + String.join(":", forward.path())
                              + ")%"))
              .setAppendAction(HeaderValueOption.HeaderAppendAction.OVERWRITE_IF_EXISTS_OR_ADD));
    }
  }

  @Override
  public List<Cluster> clusters(GatewaySettings settings) {
    return settings.jwtProviders().values().stream()
        .filter(provider -> provider.jwks() instanceof JwtProviderSpec.RemoteJwks)
        .map(
            provider ->
                jwksCluster(
                    provider.name(), (JwtProviderSpec.RemoteJwks) provider.jwks(), settings))
        .toList();
  }

  private static JwtProvider provider(JwtProviderSpec spec, boolean forwardToken) {
    JwtProvider.Builder provider =
        JwtProvider.newBuilder()
            .setIssuer(spec.issuer())
            // Empty only for a provider that said anyAudience: true.
            .addAllAudiences(spec.audiences())
            .setRequireExpiration(spec.requireExpiration())
            // Only the Authorization header: Envoy would also look in an access_token query
            // parameter by default,
            // and a token in a URL ends up in access logs and browser histories.
            .addFromHeaders(
                JwtHeader.newBuilder().setName(AUTHORIZATION_HEADER).setValuePrefix(BEARER_PREFIX))
            .setForward(forwardToken)
            // No jwt_cache_config, deliberately: Envoy's verified-token cache outlives a JWKS
            // rotation, so a token
            // signed by a retired key would stay accepted until it expires (JwtEndToEndTest's
            // rotation case fails with
            // it). Its speed-up is measured in bench/README.md.
            .setPayloadInMetadata(XdsNames.JWT_PAYLOAD_METADATA_KEY)
            .setNormalizePayloadInMetadata(
                JwtProvider.NormalizePayload.newBuilder()
                    .addSpaceDelimitedClaims(XdsNames.JWT_SCOPE_CLAIM));
    JwtProviderSpec.Jwks jwks = spec.jwks();
    if (jwks instanceof JwtProviderSpec.InlineJwks inline) {
      provider.setLocalJwks(inlineString(inline.json()));
    } else if (jwks instanceof JwtProviderSpec.FileJwks file) {
      // The settings watcher re-reads the file; its content is inlined so Envoy never reads the
      // control plane's disk.
      provider.setLocalJwks(inlineString(file.json()));
    } else if (jwks instanceof JwtProviderSpec.RemoteJwks remote) {
      provider.setRemoteJwks(
          RemoteJwks.newBuilder()
              .setHttpUri(
                  HttpUri.newBuilder()
                      .setUri(remote.uri().toString())
                      .setCluster(XdsNames.jwksCluster(spec.name()))
                      .setTimeout(EnvoyProtos.duration(remote.timeout())))
              .setCacheDuration(EnvoyProtos.duration(remote.cacheDuration())));
    } else {
      throw new IllegalStateException("unknown JWKS source " + jwks.getClass().getName());
    }
    return provider.build();
  }

  /**
   * The cluster Envoy fetches a remote JWKS through: the URI's host resolved by DNS, with TLS for
   * https. The server's certificate is verified against the host's CA bundle and must name the
   * URI's host.
   */
  private static Cluster jwksCluster(
      String providerName, JwtProviderSpec.RemoteJwks jwks, GatewaySettings settings) {
    URI uri = jwks.uri();
    boolean https = "https".equals(uri.getScheme());
    String host = bareHost(uri.getHost());
    int port = uri.getPort() > 0 ? uri.getPort() : https ? DEFAULT_HTTPS_PORT : DEFAULT_HTTP_PORT;
    Cluster.Builder cluster =
        EnvoyProtos.singleEndpointCluster(
            XdsNames.jwksCluster(providerName),
            host,
            port,
            settings.limits().upstreamConnectTimeout());
    if (https) {
      cluster.setTransportSocket(UpstreamTls.transportSocket(upstreamTls(host)));
    }
    return cluster.build();
  }

  private static UpstreamTlsContext upstreamTls(String host) {
    UpstreamTlsContext.Builder tls =
        UpstreamTlsContext.newBuilder()
            .setCommonTlsContext(
                CommonTlsContext.newBuilder()
                    .setValidationContext(
                        UpstreamTls.validation(
                            DataSource.newBuilder().setFilename(XdsNames.SYSTEM_CA_BUNDLE).build(),
                            List.of(host))));
    if (!InetAddresses.isInetAddress(host)) {
      // SNI carries host names only (RFC 6066).
      tls.setSni(host);
    }
    return tls.build();
  }

  /** java.net.URI keeps the brackets of an IPv6 literal. */
  private static String bareHost(String host) {
    return host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
  }

  private static DataSource inlineString(String json) {
    return DataSource.newBuilder().setInlineString(json).build();
  }
}
