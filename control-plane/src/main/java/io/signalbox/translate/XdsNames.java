package io.signalbox.translate;

import io.envoyproxy.envoy.config.core.v3.AggregatedConfigSource;
import io.envoyproxy.envoy.config.core.v3.ApiVersion;
import io.envoyproxy.envoy.config.core.v3.ConfigSource;

/**
 * Every name Signalbox gives an Envoy resource or uses for a well-known Envoy extension, in one
 * place.
 */
public final class XdsNames {

  public static final String HTTP_CONNECTION_MANAGER =
      "envoy.filters.network.http_connection_manager";
  public static final String ROUTER_FILTER = "envoy.filters.http.router";
  public static final String JWT_AUTHN_FILTER = "envoy.filters.http.jwt_authn";
  public static final String RBAC_FILTER = "envoy.filters.http.rbac";

  /**
   * The RBAC filter of a sidecar's inbound listener that lets only the service's allowed callers
   * through: named apart from {@link #RBAC_FILTER} (a route's required claims), as a route's policy
   * for one filter name would apply to both.
   */
  public static final String ALLOWED_CALLERS_FILTER = "signalbox.allowed_callers";

  public static final String LOCAL_RATE_LIMIT_FILTER = "envoy.filters.http.local_ratelimit";
  public static final String CORS_FILTER = "envoy.filters.http.cors";
  public static final String RATE_LIMIT_FILTER = "envoy.filters.http.ratelimit";
  public static final String FAULT_FILTER = "envoy.filters.http.fault";
  public static final String COMPRESSOR_FILTER = "envoy.filters.http.compressor";
  public static final String GZIP_COMPRESSOR = "envoy.compression.gzip.compressor";

  /** The second compressor filter, for brotli; before the gzip one in the chain. */
  public static final String BROTLI_COMPRESSOR_FILTER = "envoy.filters.http.compressor.brotli";

  public static final String BROTLI_COMPRESSOR = "envoy.compression.brotli.compressor";
  public static final String BUFFER_FILTER = "envoy.filters.http.buffer";
  public static final String TLS_INSPECTOR = "envoy.filters.listener.tls_inspector";
  public static final String TLS_TRANSPORT_SOCKET = "envoy.transport_sockets.tls";
  public static final String HTTP_PROTOCOL_OPTIONS =
      "envoy.extensions.upstreams.http.v3.HttpProtocolOptions";

  /** The route configuration every serving listener shares. */
  public static final String GATEWAY_ROUTES = "gateway-routes";

  /** The filter metadata namespace Envoy's subset load balancer matches on. */
  public static final String LB_METADATA_NAMESPACE = "envoy.lb";

  /** The bootstrap's static cluster that reaches the control plane (see envoy/bootstrap). */
  public static final String CONTROL_PLANE_CLUSTER = "signalbox-xds";

  /** Descriptor domain of Signalbox's global rate limits. */
  public static final String RATE_LIMIT_DOMAIN = io.signalbox.ratelimit.DescriptorLimit.DOMAIN;

  /**
   * The twin of JWT provider {@code provider} that forwards the token it verified (and its
   * requirement's name). The settings' provider names cannot hold a '/', so no provider is named
   * so.
   */
  public static String tokenForwardingJwtProvider(String provider) {
    return provider + "/forwarding-token";
  }

  /**
   * Dynamic-metadata key (under {@link #JWT_AUTHN_FILTER}) that holds a verified token's payload.
   */
  public static final String JWT_PAYLOAD_METADATA_KEY = "jwt_payload";

  /**
   * The JWT claim holding the token's scopes, space-delimited: jwt_authn splits it into a list, and
   * the access rules match required scopes as items of that list, so both must name the same claim.
   */
  public static final String JWT_SCOPE_CLAIM = "scope";

  /** The RBAC policy that holds a route's required scopes and claims. */
  public static final String REQUIRED_CLAIMS_POLICY = "required-claims";

  /**
   * Trust store for a remote JWKS over https: the CA bundle of Debian, Ubuntu and Alpine (and so of
   * Envoy's images) on the Envoy host. Envoy has no built-in default, and keys fetched from an
   * unverified server would let anyone who can intercept the fetch mint valid tokens.
   */
  public static final String SYSTEM_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt";

  /**
   * The global rate-limit filter whose routes fail closed; {@link #RATE_LIMIT_FILTER} fails open.
   * Envoy decides fail-open or fail-closed per filter, so each failure mode has its own filter and
   * its own stage.
   */
  public static final String RATE_LIMIT_FAIL_CLOSED_FILTER = RATE_LIMIT_FILTER + ".fail_closed";

  public static final int RATE_LIMIT_FAIL_OPEN_STAGE = 0;
  public static final int RATE_LIMIT_FAIL_CLOSED_STAGE = 1;

  /** Stat prefixes of the rate-limit filters. */
  public static final String LOCAL_RATE_LIMIT_STAT_PREFIX = "local_rate_limit";

  public static final String RATE_LIMIT_FAIL_OPEN_STAT_PREFIX = "fail_open";
  public static final String RATE_LIMIT_FAIL_CLOSED_STAT_PREFIX = "fail_closed";

  /** Descriptor entry naming the route a global limit belongs to ({@code PolicyRoute.name()}). */
  public static final String RATE_LIMIT_ROUTE_KEY = "signalbox_route";

  /**
   * Descriptor entry carrying the limit itself, e.g. {@code 10/MINUTE}, so Envoy and the service
   * cannot disagree.
   */
  public static final String RATE_LIMIT_LIMIT_KEY =
      io.signalbox.ratelimit.DescriptorLimit.LIMIT_KEY;

  /** The key Envoy's {@code remote_address} action gives its descriptor entry (fixed by Envoy). */
  public static final String RATE_LIMIT_CLIENT_IP_KEY = "remote_address";

  /** Virtual host for routes that registered no host. */
  public static final String ANY_HOST_VIRTUAL_HOST = "any-host";

  /**
   * Service clusters carry a prefix so that no service name can collide with a cluster of the
   * bootstrap (such as {@code signalbox-xds}) or with clusters Signalbox itself adds later.
   */
  private static final String SERVICE_CLUSTER_PREFIX = "svc-";

  private XdsNames() {}

  /** The SDS secret holding an Envoy's workload certificate in the mesh. */
  public static final String MESH_IDENTITY_SECRET = "mesh-identity";

  /** The SDS secret holding the mesh CA, which every workload certificate is verified against. */
  public static final String MESH_TRUST_SECRET = "mesh-trust";

  /**
   * The endpoint metadata (namespace {@code envoy.transport_socket_match}) of an instance behind a
   * sidecar, which the clusters' transport socket match sends mutual TLS to.
   */
  public static final String MESH_TLS_MATCH_KEY = "signalbox.mesh";

  public static final String MESH_TLS_MATCH_VALUE = "mtls";

  /** The route configuration of every sidecar's outbound listener: one virtual host a service. */
  public static final String SIDECAR_OUTBOUND_ROUTES = "sidecar-outbound";

  /** The outbound listener of every sidecar. */
  public static final String SIDECAR_OUTBOUND_LISTENER = "sidecar-outbound";

  /** A sidecar's inbound listener on its instance's port. */
  public static String sidecarInboundListener(int port) {
    return "sidecar-inbound-" + port;
  }

  /** The cluster of the application beside a sidecar, on 127.0.0.1:{@code applicationPort}. */
  public static String sidecarApplicationCluster(int applicationPort) {
    return "sidecar-app-" + applicationPort;
  }

  public static String serviceCluster(String service) {
    return SERVICE_CLUSTER_PREFIX + service;
  }

  /**
   * The first name in name order past every service cluster's ({@link #serviceCluster}): the
   * service clusters of a name-ordered list are those from {@code serviceCluster("")} to it.
   */
  public static final String AFTER_SERVICE_CLUSTERS = "svc.";

  /** Whether a cluster is a registered service's (not one of the settings' filter clusters). */
  public static boolean isServiceCluster(String clusterName) {
    return clusterName.startsWith(SERVICE_CLUSTER_PREFIX);
  }

  /** The route configuration of a plaintext listener that redirects every request to HTTPS. */
  public static String redirectRouteConfiguration(String listenerName) {
    return listenerName + "-redirect";
  }

  /** The SDS secret that carries a certificate of the settings. */
  public static String certificateSecret(String certificateName) {
    return "tls-" + certificateName;
  }

  /** The SDS secret that carries a client certificate Envoy presents to instances. */
  public static String upstreamClientSecret(String certificateName) {
    return UPSTREAM_CLIENT_SECRET_PREFIX + certificateName;
  }

  /** Whether a secret is a client certificate for upstreams (not one a listener serves). */
  public static boolean isUpstreamClientSecret(String secretName) {
    return secretName.startsWith(UPSTREAM_CLIENT_SECRET_PREFIX);
  }

  private static final String UPSTREAM_CLIENT_SECRET_PREFIX = "upstream-client-";

  /**
   * The filter chain of an HTTPS listener that serves a certificate to clients asking (by SNI) for
   * its hosts.
   */
  public static String certificateFilterChain(String certificateName) {
    return "sni-" + certificateName;
  }

  /**
   * The filter chain of an HTTPS listener for clients that send no SNI name, or one no certificate
   * covers.
   */
  public static String defaultFilterChain(String certificateName) {
    return "no-sni-match-" + certificateName;
  }

  /** The cluster Envoy fetches a remote JWKS through. */
  public static String jwksCluster(String providerName) {
    return "jwks-" + providerName;
  }

  /** The cluster of an external rate-limit service. */
  public static String rateLimitCluster() {
    return "signalbox-ratelimit";
  }

  /** Descriptor entry key of a limit counted per value of {@code header}. */
  public static String rateLimitHeaderKey(String header) {
    return "header:" + header;
  }

  public static String virtualHost(String host) {
    return host.equals("*") ? ANY_HOST_VIRTUAL_HOST : host;
  }

  /**
   * A route's name: its owner and its match, unique within a virtual host and readable in a config
   * dump.
   */
  public static String route(String service, String match) {
    return service + ": " + match;
  }

  /** Dynamic resources all arrive over the one ADS stream the bootstrap opens. */
  public static ConfigSource adsConfigSource() {
    return ConfigSource.newBuilder()
        .setAds(AggregatedConfigSource.getDefaultInstance())
        .setResourceApiVersion(ApiVersion.V3)
        .build();
  }
}
